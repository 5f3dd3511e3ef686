/**
 * The one entry point: configuration, guards, listen, and the shutdown
 * sequence on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import { createLogger } from './service/logger.js';
import { reloadOnSighup } from './service/reload-signal.js';
import { createService } from './service/service.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`wasmguard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.server);
  const startedAt = performance.now();
  let service;
  try {
    // A reload reads the same flags and environment again, and the files they name.
    service = await createService(config, { logger, readConfig: () => loadConfig({ argv: process.argv.slice(2), env: process.env }) });
  } catch (error) {
    // Problems found while building the service (a backend secret that is not set) are configuration errors too.
    if (error instanceof ConfigError) {
      process.stderr.write(`wasmguard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // A second signal, or the grace period running out, ends the process with a non-zero code.
  // SIGHUP reloads the guards instead of shutting down.
  reloadOnSighup(service.reload, logger);
  closeWithGrace({ delay: config.server.graceMs, logger, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutdown: fatal error');
    logger.info({ signal }, 'shutdown: started');
    await service.close();
    logger.info('shutdown: complete');
  });

  const address = await service.app.listen({ host: config.server.host, port: config.server.port });
  logger.info(
    { address, guards: service.registry.list().map((g) => g.name), startupMs: Math.round(performance.now() - startedAt) },
    'wasmguard listening',
  );
}

main().catch((error) => {
  process.stderr.write(`wasmguard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
