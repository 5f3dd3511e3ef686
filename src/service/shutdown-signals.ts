import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';

/** The signals that shut the service down. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Every other signal close-with-grace would listen to by default. Typed as a
 * record over its Signals type, so a release that adds one fails to compile
 * here instead of quietly listening to it.
 *
 * SIGSEGV, SIGBUS, SIGFPE and SIGILL above all: once a JS listener exists for
 * SIGSEGV, V8's WebAssembly trap handler stops turning a guard's out-of-bounds
 * access into a RuntimeError (the process spins at 100% CPU and the request
 * never answers), so a guard bug would take the whole service down.
 * SIGHUP (reload) and SIGUSR2 are not shutdown requests either.
 */
const NOT_SHUTDOWN: Record<Exclude<closeWithGrace.Signals, (typeof SHUTDOWN_SIGNALS)[number]>, true> = {
  SIGHUP: true,
  SIGQUIT: true,
  SIGILL: true,
  SIGTRAP: true,
  SIGABRT: true,
  SIGBUS: true,
  SIGFPE: true,
  SIGSEGV: true,
  SIGUSR2: true,
};

/**
 * Signals that are logged and otherwise ignored: their default action would end the process.
 * SIGHUP is not among them because server.ts gives it a job: reloading (tokens, guards).
 */
export const IGNORED_SIGNALS = ['SIGUSR2'] as const;

/**
 * Runs `shutdown` on SIGTERM or SIGINT (and on an uncaught error, then exiting 1).
 * A second signal, or `graceMs` running out, exits 1. SIGUSR2 is logged and
 * ignored (SIGHUP reloads, see server.ts); SIGQUIT and SIGABRT keep their default (a core dump).
 */
export function onShutdown(
  options: { graceMs: number; logger: Logger; flushLogs?: () => Promise<unknown> },
  shutdown: (reason: { signal?: string; err?: Error }) => Promise<void>): void {
  const { logger } = options;
  closeWithGrace({ delay: options.graceMs, logger, skip: Object.keys(NOT_SHUTDOWN) as closeWithGrace.Signals[] }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutdown: fatal error');
    logger.info({ signal }, 'shutdown: started');
    await shutdown({ signal, err });
    logger.info('shutdown: complete');
    // Every line out before the exit: a write still in flight could be overtaken by pino's flush at exit.
    await options.flushLogs?.();
  });
  for (const signal of IGNORED_SIGNALS) {
    process.on(signal, () => logger.warn({ signal }, `${signal} ignored: only SIGTERM and SIGINT shut the service down`));
  }
}
