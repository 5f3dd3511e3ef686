/**
 * The one entry point: configuration, guards, listen, and the shutdown
 * sequence on SIGTERM/SIGINT.
 */
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import { createLogSink } from './service/log-sink.js';
import { createLogger } from './service/logger.js';
import { createService } from './service/service.js';
import { onShutdown } from './service/shutdown-signals.js';

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
  const logSink = createLogSink();
  const logger = createLogger(config.server, logSink.stream);
  const startedAt = performance.now();
  let service;
  try {
    service = await createService(config, { logger, logSink });
  } catch (error) {
    // Problems found while building the service (a backend secret that is not set) are configuration errors too.
    if (error instanceof ConfigError) {
      process.stderr.write(`wasmguard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // SIGTERM/SIGINT only (see shutdown-signals.ts for why never the fault signals). A second signal,
  // or the grace period running out, ends the process with a non-zero code.
  onShutdown({ graceMs: config.server.graceMs, logger, flushLogs: () => logSink.flush(1000) }, () => service.close());

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
