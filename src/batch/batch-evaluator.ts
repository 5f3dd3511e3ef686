import { Semaphore } from '../backend/semaphore.js';
import type { DecisionService, Evaluated, EvaluateRequest } from '../decision/decision-service.js';
import type { SessionService } from '../session/index.js';
import type { SessionContext } from '../session/session-service.js';
import { stateless } from '../session/stateless.js';

/** One pre-call check of a batch: the fields of a /v1/evaluate body, defaults already applied. */
export interface BatchCall extends Omit<EvaluateRequest, 'guard'> {
  guard?: string;
  session?: string;
}

/** What one call gave: its decision, or the error that stopped it (and only it). */
export type CallOutcome = { ok: true; evaluated: Evaluated; guard: string } | { ok: false; error: unknown };

/**
 * Calls of one batch in flight at once. Each call goes to its guard's pool,
 * which spreads them over its idle instances (and gathers the rest per
 * instance); the bound keeps one large batch from filling the pool's queue
 * and being shed by its own calls.
 */
export const BATCH_CONCURRENCY = 16;

/**
 * Many pre-call checks in one request, on the same pipeline as /v1/evaluate
 * (DecisionService, SessionService). A session named by several calls is
 * read from the store once per batch: every call of it is judged against the
 * same labels.
 */
export class BatchEvaluator {
  constructor(
    readonly decisions: DecisionService,
    readonly sessions: SessionService,
  ) {}

  /** Every call, concurrently; outcomes in the calls' order. */
  async all(calls: readonly BatchCall[]): Promise<CallOutcome[]> {
    const run = this.#runner();
    const slots = new Semaphore(BATCH_CONCURRENCY);
    return Promise.all(
      calls.map(async (call) => {
        const release = await slots.acquire();
        try {
          return await run(call);
        } finally {
          release();
        }
      }),
    );
  }

  /**
   * Calls one after another, stopping after the first outcome `stop` accepts
   * (AuthZEN's deny_on_first_deny and permit_on_first_permit): calls after it
   * are not evaluated, so a guard that calls its backend is not asked about
   * them.
   */
  async until(calls: readonly BatchCall[], stop: (outcome: CallOutcome) => boolean): Promise<CallOutcome[]> {
    const run = this.#runner();
    const outcomes: CallOutcome[] = [];
    for (const call of calls) {
      const outcome = await run(call);
      outcomes.push(outcome);
      if (stop(outcome)) break;
    }
    return outcomes;
  }

  /** Evaluates one call; never rejects. Session contexts are memoised for the runner's batch. */
  #runner(): (call: BatchCall) => Promise<CallOutcome> {
    const contexts = new Map<string, Promise<SessionContext>>();
    const contextOf = (call: BatchCall & { session: string }) => {
      let ctx = contexts.get(call.session);
      if (!ctx) {
        // The session's guard is checked per call (by evaluate), not here: the first call's guard must not decide for the others.
        ctx = this.sessions.context(call.session, undefined);
        // A failed read is every call's error; marked handled so a batch of one bad session does not log an unhandled rejection.
        ctx.catch(() => {});
        contexts.set(call.session, ctx);
      }
      return ctx;
    };
    return async (call) => {
      try {
        if (call.session !== undefined) {
          const session = call as BatchCall & { session: string };
          const { evaluated, guard } = await this.sessions.evaluate(session, await contextOf(session));
          return { ok: true, evaluated, guard };
        }
        const request = stateless(call);
        return { ok: true, evaluated: await this.decisions.evaluate(request), guard: request.guard };
      } catch (error) {
        return { ok: false, error };
      }
    };
  }
}
