import { hash, randomBytes } from 'node:crypto';
import type { DecisionContext, DecisionService, EvaluateRequest, EvaluateResponseRequest, Evaluated, EvaluatedResponse } from '../decision/decision-service.js';
import { assertNotLocked } from '../decision/lock.js';
import type { Mode } from '../difc/types.js';
import { SessionConflictError, SessionError, UnknownSessionError } from './errors.js';
import { normaliseLabels, sameLabels } from './merge.js';
import type { DecisionRecord, SessionRecord, SessionStore } from './store.js';

export interface CreateSessionRequest {
  guard: string;
  policy?: unknown;
  mode?: Mode;
  ttl_s?: number;
}

/** A session as GET /v1/sessions/{id} shows it (its schema: http/schemas/sessions.ts SessionReply). */
export interface SessionView {
  session_id: string;
  guard: string;
  mode: Mode;
  agent: { secrecy: string[]; integrity: string[] };
  created: string;
  updated: string;
  changes: number;
  expires_at: string;
  ttl_s: number;
}

/** A request body naming a session; the fields a session makes authoritative are listed so they can be refused. */
export interface SessionEvaluateRequest extends Omit<EvaluateRequest, 'guard'> {
  session: string;
  guard?: string;
}

export interface SessionEvaluateResponseRequest extends Omit<EvaluateResponseRequest, 'guard'> {
  session: string;
  guard?: string;
  decision_id?: string;
}

export interface SessionServiceOptions {
  /** Default idle TTL of a new session. */
  ttlS: number;
  /** How long what /v1/evaluate decided is kept for /v1/evaluate/response. */
  decisionTtlS: number;
  /** Called once per session created (metrics). */
  onCreated?: () => void;
}

/** A session's record and the decision context it gives; read once and shared by the calls of a batch. */
export interface SessionContext {
  record: SessionRecord;
  ctx: DecisionContext;
}

/** Fields a request naming a session may not send: the session holds them. */
const SESSION_FIELDS = ['agent', 'policy', 'mode'] as const;
/** With a session, the response check also takes operation and resource from what the service decided. */
const SESSION_RESPONSE_FIELDS = [...SESSION_FIELDS, 'operation', 'resource'] as const;

/** Kept for five minutes: long enough for a tool call, short enough that the store does not fill with them. */
export const DEFAULT_DECISION_TTL_S = 300;

/**
 * Server-held agent labels (docs/contract.md §7). The decision pipeline is the
 * stateless one of DecisionService; this layer takes the context from the
 * store instead of the request, keeps what /v1/evaluate decided, and writes
 * propagated labels back as a monotone merge.
 */
export class SessionService {
  constructor(
    readonly store: SessionStore,
    readonly decisions: DecisionService,
    readonly options: SessionServiceOptions,
  ) {}

  /** Runs label_agent once and stores the labels under a new 128-bit id. */
  async create(request: CreateSessionRequest): Promise<SessionView> {
    const guard = this.decisions.guard(request.guard);
    assertNotLocked(guard, { policy: request.policy, mode: request.mode });
    const policy = guard.policyFor(request.policy);
    const labelling = policy ? await guard.labelAgent(policy) : undefined;
    const now = Date.now();
    const record: SessionRecord = {
      id: randomBytes(16).toString('base64url'),
      guard: guard.name,
      policy: policy?.json ?? null,
      mode: this.decisions.modeFor(request.mode, guard, labelling),
      agent: normaliseLabels(labelling?.agent ?? { secrecy: [], integrity: [] }),
      created: now,
      updated: now,
      changes: 0,
      ttlS: request.ttl_s ?? this.options.ttlS,
    };
    await this.store.create(record);
    this.options.onCreated?.();
    return view(record, now);
  }

  async read(id: string): Promise<SessionView> {
    const record = await this.store.get(id);
    if (!record) throw new UnknownSessionError(id);
    return view(record, Date.now());
  }

  async end(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw new UnknownSessionError(id);
  }

  /**
   * The session's context for one decision: its guard, policy, labels and
   * mode. Batch routes call this once per batch and pass it to evaluate for
   * every call in it.
   */
  async context(id: string, guardName: string | undefined): Promise<SessionContext> {
    const record = await this.store.get(id);
    if (!record) throw new UnknownSessionError(id);
    assertSessionGuard(record, guardName);
    const guard = this.decisions.guard(record.guard);
    return {
      record,
      ctx: { guard, policy: record.policy === null ? undefined : { key: record.policy, json: record.policy }, agent: record.agent, mode: record.mode },
    };
  }

  /** The decision, and the session's guard (for the decision log and metrics). */
  async evaluate(request: SessionEvaluateRequest, given?: SessionContext): Promise<{ evaluated: Evaluated; guard: string }> {
    refuse(request, SESSION_FIELDS);
    if (given) assertSessionGuard(given.record, request.guard);
    const { record, ctx } = given ?? (await this.context(request.session, request.guard));
    const evaluated = await this.decisions.evaluate({ ...request, guard: record.guard }, ctx);
    // A denied call is not made, so it has no result to check: nothing to keep (nor its arguments to hash).
    // The reply does not wait for the write: a record that is not there yet (or never written, the store
    // being down) only means that /v1/evaluate/response labels the call again. Failures are counted by the
    // store's metrics.
    if (evaluated.decision === 'allow') {
      const kept: DecisionRecord = {
        session: record.id,
        guard: record.guard,
        tool: request.tool,
        argsDigest: argsDigest(request.args),
        operation: evaluated.operation,
        resource: evaluated.resource,
      };
      this.store.putDecision(evaluated.decision_id, kept, this.options.decisionTtlS).catch(ignore);
    }
    return { evaluated, guard: record.guard };
  }

  /**
   * The response check with the service's own resource labels: those kept
   * for `decision_id` when they were made for this session, tool and
   * arguments, else labelled again. Propagated labels are merged into the
   * store; the reply carries the merged labels, which include whatever other
   * reads of the session merged meanwhile.
   */
  async evaluateResponse(request: SessionEvaluateResponseRequest): Promise<{ evaluated: EvaluatedResponse; guard: string }> {
    refuse(request, SESSION_RESPONSE_FIELDS);
    const { record, ctx } = await this.context(request.session, request.guard);
    const kept = request.decision_id ? await this.store.getDecision(request.decision_id) : undefined;
    const usable =
      kept && kept.session === record.id && kept.guard === record.guard && kept.tool === request.tool && kept.argsDigest === argsDigest(request.args);
    const { session: _session, decision_id: _decisionId, ...rest } = request;
    const evaluated = await this.decisions.evaluateResponse(
      { ...rest, guard: record.guard, ...(usable ? { operation: kept.operation, resource: kept.resource } : {}) },
      ctx,
    );
    const computed = normaliseLabels(evaluated.agent);
    if (!sameLabels(computed, record.agent)) {
      const merged = await this.store.mergeLabels(record.id, computed);
      if (!merged) throw new UnknownSessionError(record.id);
      evaluated.agent = merged.record.agent;
    }
    return { evaluated, guard: record.guard };
  }
}

function assertSessionGuard(record: SessionRecord, guardName: string | undefined): void {
  if (guardName !== undefined && guardName !== record.guard) {
    throw new SessionError('WG_ERR_INVALID_REQUEST', `body.guard "${guardName}" is not the session's guard "${record.guard}"`);
  }
}

function refuse(request: object, fields: readonly string[]): void {
  // The usual request sends none of them: look before building the list (this runs on every session call).
  if (!fields.some((f) => (request as Record<string, unknown>)[f] !== undefined)) return;
  throw new SessionConflictError(fields.filter((f) => (request as Record<string, unknown>)[f] !== undefined));
}

function ignore(): void {}

function argsDigest(args: unknown): string {
  // crypto.hash: the one-shot digest, half the cost of a Hash object for a few hundred bytes.
  return hash('sha256', JSON.stringify(args ?? null), 'base64url');
}

function view(record: SessionRecord, now: number): SessionView {
  return {
    session_id: record.id,
    guard: record.guard,
    mode: record.mode,
    agent: record.agent,
    created: new Date(record.created).toISOString(),
    updated: new Date(record.updated).toISOString(),
    changes: record.changes,
    expires_at: new Date(now + record.ttlS * 1000).toISOString(),
    ttl_s: record.ttlS,
  };
}
