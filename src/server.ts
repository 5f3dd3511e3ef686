/**
 * The one entry point: configuration, guards, listen, and the shutdown
 * sequence on SIGTERM/SIGINT.
 */
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import { startDiagnostics, type DiagnosticsListener } from './http/diagnostics.js';
import { createLogSink } from './service/log-sink.js';
import { createLogger } from './service/logger.js';
import { reloadOnSighup } from './service/reload-signal.js';
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
  // A memory limit too small for even one instance of each guard still starts, with a warning.
  if (config.poolSizing) logger[config.poolSizing.memoryAllows === 0 ? 'warn' : 'info'](config.poolSizing, 'pool size chosen');
  const startedAt = performance.now();
  let service;
  try {
    // A reload reads the same flags and environment again, and the files they name.
    service = await createService(config, { logger, logSink, readConfig: () => loadConfig({ argv: process.argv.slice(2), env: process.env }) });
  } catch (error) {
    // Problems found while building the service (a backend secret that is not set) are configuration errors too.
    if (error instanceof ConfigError) {
      process.stderr.write(`wasmguard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  let diagnostics: DiagnosticsListener | undefined;
  // SIGTERM/SIGINT only (see shutdown-signals.ts for why never the fault signals). A second signal,
  // or the grace period running out, ends the process with a non-zero code.
  // SIGHUP reloads (the API tokens file and the guards) instead of shutting down.
  reloadOnSighup(service.reload, logger);
  onShutdown({ graceMs: config.server.graceMs, logger, flushLogs: () => logSink.flush(1000) }, async () => {
    await service.close();
    // Last: the kubelet and Prometheus keep reading "draining" and the final metrics until here.
    await diagnostics?.close();
  });

  const address = await service.app.listen({ host: config.server.host, port: config.server.port });
  logger.info(
    { address, guards: service.registry.list().map((g) => g.name), startupMs: Math.round(performance.now() - startedAt) },
    'wasmguard listening',
  );
  if (config.server.diagnosticsPort !== undefined) {
    const { readiness, metrics, app } = service;
    const { diagnosticsHost: host, diagnosticsPort: port } = config.server;
    diagnostics = await startDiagnostics({ host, port, readiness, metrics, isUnderPressure: () => app.isUnderPressure(), logger });
    logger.info({ address: diagnostics.address }, 'diagnostics listening');
  }
}

main().catch((error) => {
  process.stderr.write(`wasmguard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
