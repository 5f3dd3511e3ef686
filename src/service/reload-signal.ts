import type { Logger } from 'pino';
import type { ReloadReport } from '../runtime/reload.js';

/**
 * SIGHUP reloads the guards, as for nginx or OPA. Each signal asks for one
 * reload (overlapping ones fold into one more); a failure is logged by the
 * reload itself and never ends the process.
 */
export function reloadOnSighup(reload: (trigger: string) => Promise<ReloadReport>, logger: Logger): () => void {
  const onSignal = () => {
    logger.info({ signal: 'SIGHUP' }, 'reload requested by signal');
    reload('signal').catch((error: unknown) => logger.warn({ err: error }, 'reload by signal changed nothing'));
  };
  process.on('SIGHUP', onSignal);
  return () => process.removeListener('SIGHUP', onSignal);
}
