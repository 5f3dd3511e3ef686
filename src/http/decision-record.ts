import type { FastifyBaseLogger } from 'fastify';
import type { LabelsJson, Mode, Operation } from '../difc/types.js';
import type { Metrics } from '../metrics/metrics.js';

export interface DecisionRecord {
  stage: 'request' | 'response';
  guard: string;
  tool: string;
  /** performance.now() when the request's decision work started. */
  started: number;
  decision: { decision_id: string; guard_digest: string; decision: 'allow' | 'deny'; operation: Operation; mode: Mode; agent: LabelsJson; reason?: string };
  /** Stage-specific fields (resource, filtered count, and tool data when enabled), built only when the line is written. */
  details: () => Record<string, unknown>;
}

/** Tags of one label list kept in a log line; the rest are counted, not written (a line stays small). */
export const LOG_TAGS_PER_LABEL = 32;
/** Characters of the reason kept in a log line (it names missing tags). */
export const LOG_REASON_CHARS = 2048;

/** Labels as they go into a log line: each list cut to LOG_TAGS_PER_LABEL tags, with its full count when cut. */
export function labelsForLog<T extends { secrecy: string[]; integrity: string[] }>(labels: T): T & { secrecy_count?: number; integrity_count?: number } {
  if (labels.secrecy.length <= LOG_TAGS_PER_LABEL && labels.integrity.length <= LOG_TAGS_PER_LABEL) return labels;
  const out: Record<string, unknown> = { ...labels };
  for (const key of ['secrecy', 'integrity'] as const) {
    if (labels[key].length > LOG_TAGS_PER_LABEL) {
      out[key] = labels[key].slice(0, LOG_TAGS_PER_LABEL);
      out[`${key}_count`] = labels[key].length;
    }
  }
  return out as T & { secrecy_count?: number; integrity_count?: number };
}

/** Counts a decision and writes its one decision log line. */
export function recordDecision(log: FastifyBaseLogger, metrics: Metrics, record: DecisionRecord): void {
  const { stage, guard, tool, decision: d } = record;
  metrics.decisions.labels(guard, d.operation, d.decision, d.mode, stage).inc();
  // Nothing is built for a line that would not be written (decision traffic is the hot path).
  if ((log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === false) return;
  log.info(
    {
      decision_id: d.decision_id,
      stage,
      guard,
      // Which version of the guard decided: hot reload can change it between two lines.
      guard_digest: d.guard_digest,
      tool,
      operation: d.operation,
      mode: d.mode,
      decision: d.decision,
      reason: d.reason !== undefined && d.reason.length > LOG_REASON_CHARS ? `${d.reason.slice(0, LOG_REASON_CHARS)}…` : d.reason,
      agent: labelsForLog(d.agent),
      duration_ms: performance.now() - record.started,
      ...record.details(),
    },
    'decision',
  );
}
