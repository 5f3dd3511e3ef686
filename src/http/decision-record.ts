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
      reason: d.reason,
      agent: d.agent,
      duration_ms: performance.now() - record.started,
      ...record.details(),
    },
    'decision',
  );
}
