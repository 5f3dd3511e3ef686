import {
  inputJson,
  parseAgentOutput,
  parseResourceOutput,
  parseResponseOutput,
  type AgentLabelling,
  type CompiledGuard,
  type ResourceLabelling,
} from '../guard/index.js';
import type { ResponseLabelling } from '../difc/types.js';
import { decodeResponseJob, type ResponseJobInput, type ResponseJobOutput, type ResponseJobTooLarge } from '../guard/response-job.js';
import type { GuardPool, PoolCall, PoolResult } from '../pool/index.js';
import type { ResolvedGuard } from '../config/load.js';

/** A policy as the pool keys it: its JSON text is both the input and the identity. */
export interface PolicyRef {
  key: string;
  json: string;
}

const AGENT_CACHE_LIMIT = 1024;

/**
 * The label_agent input for a policy. With configured trusted bots, the
 * compatible gateway sends them as a top-level `trusted-bots` member beside
 * `allow-only` (replacing one the policy carried); a policy that is not an
 * object is sent as it is, as there. The bots are part of the JSON, so they
 * are part of the policy's identity too.
 */
function policyRef(policy: unknown, trustedBots: readonly string[] | undefined): PolicyRef | undefined {
  if (policy === undefined || policy === null) return undefined;
  const isObject = typeof policy === 'object' && !Array.isArray(policy);
  const json = JSON.stringify(trustedBots?.length && isObject ? { ...(policy as object), 'trusted-bots': trustedBots } : policy);
  return { key: json, json };
}

/**
 * One loaded guard as the decision layer sees it: typed label calls through
 * its pool, and label_agent results cached per policy (an instance runs
 * label_agent whenever it switches policy; the service needs the result only
 * once).
 */
export class GuardHandle {
  readonly #agents = new Map<string, Promise<AgentLabelling>>();
  /** The configured default policy, serialised once: most requests carry no policy of their own. */
  readonly #defaultPolicy: PolicyRef | undefined;
  /** Requests deciding with this version right now: a replaced version closes its pool only when none is left. */
  #leases = 0;
  #idle: (() => void) | undefined;
  readonly loadedAt = new Date();

  constructor(
    readonly config: ResolvedGuard,
    readonly compiled: CompiledGuard,
    readonly pool: GuardPool,
    /** 1 when first loaded; each reload that replaces the guard counts one more. */
    readonly version = 1,
  ) {
    this.#defaultPolicy = policyRef(config.policy, config.trustedBots);
  }

  /** A request starts deciding with this version; pair with leave(). */
  enter(): void {
    this.#leases++;
  }

  leave(): void {
    if (--this.#leases === 0) this.#idle?.();
  }

  get leases(): number {
    return this.#leases;
  }

  /**
   * After a reload replaced or removed this version: waits for the requests
   * still deciding with it, then drains and closes its pool (calls in flight
   * finish; at most `graceMs` in all).
   */
  async retire(graceMs: number): Promise<void> {
    const started = performance.now();
    if (this.#leases > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    await this.pool.close(Math.max(0, graceMs - (performance.now() - started)));
  }

  get name(): string {
    return this.config.name;
  }

  /** The request's policy, else the configured default; undefined = the guard's built-in defaults. */
  policyFor(requestPolicy: unknown): PolicyRef | undefined {
    return requestPolicy === undefined || requestPolicy === null ? this.#defaultPolicy : policyRef(requestPolicy, this.config.trustedBots);
  }

  labelAgent(policy: PolicyRef): Promise<AgentLabelling> {
    const cached = this.#agents.get(policy.key);
    if (cached) return cached;
    const pending = this.pool.call({ fn: 'label_agent', policy }).then(({ output }) => parseAgentOutput(output, this.name));
    this.#remember(policy.key, pending);
    return pending;
  }

  async labelResource(tool: string, args: unknown, policy: PolicyRef | undefined): Promise<ResourceLabelling> {
    const { output } = await this.#call({ fn: 'label_resource', input: inputJson({ fn: 'label_resource', tool, args }), policy });
    return parseResourceOutput(output, this.name);
  }

  async labelResponse(tool: string, result: unknown, args: unknown, policy: PolicyRef | undefined): Promise<ResponseLabelling> {
    const { output } = await this.#call({ fn: 'label_response', input: inputJson({ fn: 'label_response', tool, args, result }), policy });
    return parseResponseOutput(output, this.name);
  }

  /**
   * The whole response check in the guard's worker: `job` is the check and the tool result's bytes
   * (src/guard/response-job.ts encodeResponseJob). Its reply, or, when that did not fit in the
   * worker's channel, the guard's label_response output, on which the caller checks the result itself.
   */
  async checkResponse(job: ResponseJobInput, policy: PolicyRef | undefined): Promise<ResponseJobOutput | ResponseJobTooLarge> {
    const { reply } = await this.#call({ fn: 'label_response', job: true, input: job, policy });
    // The pool answers every job it ran with its reply's bytes.
    if (!reply) throw new Error(`guard ${this.name}: a response job came back without its reply`);
    return decodeResponseJob(reply);
  }

  async #call(call: PoolCall): Promise<PoolResult> {
    const result = await this.pool.call(call);
    const { agentOutput } = result;
    // An instance that had to switch policy ran label_agent anyway: keep its answer.
    if (agentOutput && call.policy && !this.#agents.has(call.policy.key)) {
      this.#remember(call.policy.key, Promise.resolve(parseAgentOutput(agentOutput, this.name)));
    }
    return result;
  }

  #remember(key: string, pending: Promise<AgentLabelling>): void {
    if (this.#agents.size >= AGENT_CACHE_LIMIT) this.#agents.delete(this.#agents.keys().next().value!);
    this.#agents.set(key, pending);
    // A refused or failed label_agent is not an answer to keep.
    pending.catch(() => {
      if (this.#agents.get(key) === pending) this.#agents.delete(key);
    });
  }

  describe() {
    const { compiled, config } = this;
    return {
      name: this.name,
      digest: compiled.digest,
      version: this.version,
      loaded_at: this.loadedAt.toISOString(),
      size_bytes: compiled.sizeBytes,
      exports: compiled.shape.exports,
      imports: { wasi: compiled.shape.wasiImports.length > 0, call_backend: compiled.shape.usesBackend, host_log: compiled.shape.usesLog },
      alloc_dealloc: compiled.shape.hasAllocator,
      default_policy: config.policy ?? null,
      mode: config.mode ?? null,
      backend: config.backend ?? null,
      limits: {
        timeout_ms: config.timeoutMs,
        memory_limit_bytes: compiled.limits.memoryLimitBytes,
        max_input_bytes: compiled.limits.maxInputBytes,
        initial_output_bytes: compiled.limits.initialOutputBytes,
        max_output_bytes: compiled.limits.maxOutputBytes,
        max_backend_calls: compiled.limits.maxBackendCalls,
      },
      pool: this.pool.state(),
    };
  }
}
