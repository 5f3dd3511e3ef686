import type { GuardRegistry } from '../runtime/guard-registry.js';
import type { SessionStore } from '../session/store.js';

/** Whether the service should get traffic: guards loaded, not draining, no guard failing outright. */
export class Readiness {
  #draining = false;
  /**
   * While draining, answers carry `Connection: close` so clients move to
   * another instance; cleared for a moment before the listener closes (see
   * close-server.ts).
   */
  closeConnections = false;

  constructor(
    readonly registry: GuardRegistry,
    readonly sessions?: Pick<SessionStore, 'available' | 'kind'>,
  ) {}

  /** First step of shutdown: load balancers stop sending before the listener closes. */
  drain(): void {
    this.#draining = true;
    this.closeConnections = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * A session store that cannot be reached does not make the service unready:
   * calls without a session still work, and with a store shared by every
   * replica, unready would take all of them out at once. It is reported
   * instead, for operators and for gateways that depend on sessions.
   */
  get sessionStore(): 'up' | 'down' {
    return !this.sessions || this.sessions.available ? 'up' : 'down';
  }

  check(): { ready: boolean; reason?: string } {
    if (this.#draining) return { ready: false, reason: 'draining' };
    const unhealthy = this.registry.list().filter((g) => !g.pool.healthy).map((g) => g.name);
    if (unhealthy.length > 0) return { ready: false, reason: `guards without live instances: ${unhealthy.join(', ')}` };
    return { ready: true };
  }
}
