import { randomUUID } from 'node:crypto';
import { coarseCheck, labelResponse, prepareResult, type FilteredItem, type ItemLabels } from '../difc/index.js';
import type { LabelsJson, Mode, Operation, ResourceLabelsJson, ResponseLabelling } from '../difc/types.js';
import { parseResponseOutput, type AgentLabelling } from '../guard/index.js';
import { encodeResponseJob, resultOfJob } from '../guard/response-job.js';
import type { GuardHandle, PolicyRef } from '../runtime/guard-handle.js';
import type { GuardRegistry } from '../runtime/guard-registry.js';
import { UnknownGuardError } from './errors.js';
import { assertNotLocked } from './lock.js';
import type { BodyJson } from './body-json.js';
import { withSerialisedParts } from './serialised-response.js';

export interface AgentLabelRequest {
  guard: string;
  policy: unknown;
}

export interface EvaluateRequest {
  guard: string;
  tool: string;
  args?: unknown;
  agent?: LabelsJson;
  mode?: Mode;
  policy?: unknown;
}

export interface EvaluateResponseRequest extends EvaluateRequest {
  /** The tool result; undefined when `bodyJson` carries it. */
  result: unknown;
  operation?: Operation;
  resource?: ResourceLabelsJson;
  /**
   * The request body the result came in, as its text: the check then runs whole in the guard's worker,
   * which parses that text itself (guard/response-job.ts). Absent: it runs here.
   */
  bodyJson?: BodyJson;
}

/** The reply of /v1/agents/label (its schema: http/schemas/decisions.ts AgentLabelReply). */
export interface AgentLabelled {
  agent: LabelsJson;
  mode: Mode;
  normalized_policy: unknown;
  guard_digest: string;
}

/** The reply of /v1/evaluate (its schema: http/schemas/decisions.ts EvaluateReply). */
export interface Evaluated {
  decision_id: string;
  /** SHA-256 of the guard version that decided: a reload may change the guard between two requests. */
  guard_digest: string;
  decision: 'allow' | 'deny';
  operation: Operation;
  resource: ResourceLabelsJson;
  check_response: boolean;
  mode: Mode;
  agent: LabelsJson;
  reason?: string;
}

/** The reply of /v1/evaluate/response (its schema: http/schemas/decisions.ts EvaluateResponseReply). */
export interface EvaluatedResponse {
  decision_id: string;
  guard_digest: string;
  decision: 'allow' | 'deny';
  result: unknown;
  filtered: FilteredItem[];
  agent: LabelsJson;
  labels: ItemLabels[];
  operation: Operation;
  mode: Mode;
  reason?: string;
  notice?: string;
}

/**
 * The context every decision starts from: guard, policy, agent labels, mode,
 * with their fallbacks; or, for a request that names a session, what the
 * session holds (src/session/session-service.ts).
 */
export interface DecisionContext {
  guard: GuardHandle;
  policy: PolicyRef | undefined;
  agent: LabelsJson;
  mode: Mode;
}

/** What every response reply says besides the check's own findings. */
interface ResponseBase {
  decision_id: string;
  guard_digest: string;
  operation: Operation;
  mode: Mode;
}

/** A response check past the coarse check: what the check on the event loop needs besides the result. */
interface ResponseScope {
  ctx: DecisionContext;
  request: EvaluateResponseRequest;
  base: ResponseBase;
  resource: ResourceLabelsJson;
  /** Whether the guard labels the response (else every part carries the resource's labels). */
  checkResponse: boolean;
}

const NO_LABELS: LabelsJson = Object.freeze({ secrecy: [], integrity: [] }) as LabelsJson;

/**
 * Request bodies from this size on have their response check run whole in the guard's worker
 * (guard/response-job.ts). A smaller one is checked here: handing it over and parsing it again
 * there cost more CPU than its check (1-item results: 155-214 µs per request here, 184-309 in the
 * worker, in the bench's alternated rounds), and its check is short enough not to hold up the
 * event loop.
 */
export const WORKER_CHECK_MIN_BYTES = 16 * 1024;

/** Whether the response check runs in the worker: a body given, large enough, and within the guard's input limit (over it, it is refused here with 413 as always). */
function runsInWorker(bodyJson: BodyJson | undefined, maxInputBytes: number): bodyJson is BodyJson {
  return bodyJson !== undefined && bodyJson.byteLength >= WORKER_CHECK_MIN_BYTES && bodyJson.byteLength <= maxInputBytes;
}

/**
 * The decision pipeline of docs/contract.md §1: guards label, the DIFC
 * monitor decides. Stateless between requests: the agent's labels travel with
 * the gateway, which sends them back on the next call.
 */
export class DecisionService {
  constructor(
    readonly registry: GuardRegistry,
    readonly defaultMode: Mode,
  ) {}

  guard(name: string): GuardHandle {
    const guard = this.registry.get(name);
    if (!guard) throw new UnknownGuardError(name, this.registry.list().map((g) => g.name));
    return guard;
  }

  /**
   * Runs one decision on the guard version serving now, start to end: a reload
   * that swaps the guard meanwhile lets this request finish on this version.
   */
  async #with<T>(name: string, decide: (guard: GuardHandle) => Promise<T>): Promise<T> {
    const guard = this.guard(name);
    guard.enter();
    try {
      return await decide(guard);
    } finally {
      guard.leave();
    }
  }

  labelAgent(request: AgentLabelRequest): Promise<AgentLabelled> {
    return this.#with(request.guard, (guard) => this.#labelAgent(guard, request));
  }

  /** `given`: what a session holds (src/session/session-service.ts); the guard is always the version serving now. */
  evaluate(request: EvaluateRequest, given?: DecisionContext): Promise<Evaluated> {
    return this.#with(request.guard, (guard) => this.#evaluate(guard, request, given));
  }

  evaluateResponse(request: EvaluateResponseRequest, given?: DecisionContext): Promise<EvaluatedResponse> {
    return this.#with(request.guard, (guard) => this.#evaluateResponse(guard, request, given));
  }

  async #labelAgent(guard: GuardHandle, request: AgentLabelRequest) {
    assertNotLocked(guard, { policy: request.policy });
    const policy = guard.policyFor(request.policy);
    // The route schema requires a policy object; this keeps a direct caller from reaching the pool without one.
    if (!policy) throw new TypeError('labelAgent needs a policy');
    const labelling = await guard.labelAgent(policy);
    return {
      agent: labelling.agent,
      mode: this.modeFor(undefined, guard, labelling),
      normalized_policy: labelling.normalizedPolicy ?? null,
      guard_digest: guard.compiled.digest,
    };
  }

  async #evaluate(guard: GuardHandle, request: EvaluateRequest, given?: DecisionContext): Promise<Evaluated> {
    const ctx = given ? { ...given, guard } : await this.#context(guard, request);
    const { resource, operation } = await ctx.guard.labelResource(request.tool, request.args, ctx.policy);
    const coarse = coarseCheck({ agent: ctx.agent, resource, operation, mode: ctx.mode });
    const evaluated: Evaluated = {
      decision_id: randomUUID(),
      guard_digest: guard.compiled.digest,
      decision: coarse.decision,
      operation,
      resource,
      check_response: coarse.checkResponse,
      mode: ctx.mode,
      agent: ctx.agent,
    };
    // Set only when there is one (a spread of a conditional object costs a copy on every decision).
    if (coarse.reason) evaluated.reason = coarse.reason;
    return evaluated;
  }

  async #evaluateResponse(guard: GuardHandle, request: EvaluateResponseRequest, given?: DecisionContext): Promise<EvaluatedResponse> {
    const ctx = given ? { ...given, guard } : await this.#context(guard, request);
    let { operation, resource } = request;
    if (!operation || !resource) {
      const labelled = await ctx.guard.labelResource(request.tool, request.args, ctx.policy);
      operation ??= labelled.operation;
      resource ??= labelled.resource;
    }
    const base: ResponseBase = { decision_id: randomUUID(), guard_digest: guard.compiled.digest, operation, mode: ctx.mode };
    const coarse = coarseCheck({ agent: ctx.agent, resource, operation, mode: ctx.mode });
    if (coarse.outcome === 'deny') {
      // The call should not have happened; its result is not shown either.
      return { ...base, decision: 'deny', result: null, filtered: [], agent: ctx.agent, labels: [], reason: coarse.reason };
    }
    const { bodyJson } = request;
    const scope: ResponseScope = { ctx, request, base, resource, checkResponse: coarse.checkResponse };
    // Only a check that calls the guard: the call's deadline then counts from the guard call, not from the parse before it.
    if (coarse.checkResponse && runsInWorker(bodyJson, ctx.guard.compiled.limits.maxInputBytes)) {
      const job = { guard: ctx.guard.name, tool: request.tool, args: request.args, resource, agent: ctx.agent, operation, mode: ctx.mode };
      const { bytes, result } = bodyJson.take();
      const input = encodeResponseJob(job, bytes, result);
      const checked = await ctx.guard.checkResponse(input, ctx.policy);
      if ('members' in checked) {
        // The header holds reason and notice only when they are set, as the reply does.
        const { filtered, ...said } = checked.header;
        return withSerialisedParts({ ...base, ...said }, checked.members, filtered);
      }
      // Its reply did not fit in the worker's channel (a result of very many small items): checked here on the
      // labels the guard gave the worker, the result parsed again from the job (the body's bytes were handed over).
      return this.#checkHere(scope, resultOfJob(input), parseResponseOutput(checked.guardOutput, ctx.guard.name));
    }
    return this.#checkHere(scope, bodyJson ? bodyJson.result : request.result);
  }

  /**
   * The response check on the event loop, the guard's label_response called through the pool unless
   * `labelled` already holds its labels for this result.
   */
  async #checkHere({ ctx, request, base, resource, checkResponse }: ResponseScope, result: unknown, labelled?: ResponseLabelling): Promise<EvaluatedResponse> {
    const { operation } = base;
    // One parse of the MCP text: the guard labels, and the agent gets, the service's serialisation of it.
    const prepared = prepareResult(result);
    // Without a response check every part carries the resource labels, which pass a read here.
    const labelling = labelled ?? (checkResponse ? await ctx.guard.labelResponse(request.tool, prepared.forGuard, request.args, ctx.policy) : null);
    const check = labelResponse({ result, prepared, labelling, resource, agent: ctx.agent, operation, mode: ctx.mode });
    return {
      ...base,
      decision: check.decision,
      result: check.result,
      filtered: check.filtered,
      agent: check.agent,
      labels: check.labels,
      ...(check.reason ? { reason: check.reason } : {}),
      ...(check.notice ? { notice: check.notice } : {}),
    };
  }

  async #context(guard: GuardHandle, request: EvaluateRequest): Promise<DecisionContext> {
    assertNotLocked(guard, request);
    const policy = guard.policyFor(request.policy);
    // label_agent results are cached per policy: after the first request this costs no guard call.
    const labelling = policy ? await guard.labelAgent(policy) : undefined;
    return {
      guard,
      policy,
      agent: request.agent ?? labelling?.agent ?? NO_LABELS,
      mode: this.modeFor(request.mode, guard, labelling),
    };
  }

  /** request → the guard's configured mode → label_agent's difc_mode → the server default. */
  modeFor(requested: Mode | undefined, guard: GuardHandle, labelling: AgentLabelling | undefined): Mode {
    return requested ?? guard.config.mode ?? labelling?.mode ?? this.defaultMode;
  }
}
