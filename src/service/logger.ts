import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServerConfig } from '../config/schema.js';

/** The service logger: JSON lines, the configured level, and the operator's redaction paths. */
export function createLogger(server: Pick<ServerConfig, 'logLevel' | 'logRedactPaths'>, destination?: DestinationStream): Logger {
  const options = {
    level: server.logLevel,
    base: { service: 'wasmguard' },
    ...(server.logRedactPaths.length > 0 ? { redact: { paths: server.logRedactPaths, censor: '[redacted]' } } : {}),
  };
  // Synchronous stdout: pino's default asynchronous writer can let a line still in flight be overtaken by
  // the synchronous flush at process exit, and the shutdown steps must appear in the order they happened.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
