import type { GuardRegistry } from '../service/guard-registry.js';

/** Whether the service should get traffic: guards loaded, not draining, no guard failing outright. */
export class Readiness {
  #draining = false;
  /**
   * While draining, answers carry `Connection: close` so clients move to
   * another instance; cleared for a moment before the listener closes (see
   * close-server.ts).
   */
  closeConnections = false;

  constructor(readonly registry: GuardRegistry) {}

  /** First step of shutdown: load balancers stop sending before the listener closes. */
  drain(): void {
    this.#draining = true;
    this.closeConnections = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  check(): { ready: boolean; reason?: string } {
    if (this.#draining) return { ready: false, reason: 'draining' };
    const unhealthy = this.registry.list().filter((g) => !g.pool.healthy).map((g) => g.name);
    if (unhealthy.length > 0) return { ready: false, reason: `guards without live instances: ${unhealthy.join(', ')}` };
    return { ready: true };
  }
}
