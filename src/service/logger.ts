import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServerConfig } from '../config/schema.js';

/** The service logger: JSON lines, the configured level, and the operator's redaction paths. */
export function createLogger(server: Pick<ServerConfig, 'logLevel' | 'logRedactPaths'>, destination?: DestinationStream): Logger {
  const options = {
    level: server.logLevel,
    base: { service: 'wasmguard' },
    ...(server.logRedactPaths.length > 0 ? { redact: { paths: server.logRedactPaths, censor: '[redacted]' } } : {}),
  };
  // Without a destination: synchronous stdout (tools and tests). The service passes its bounded asynchronous sink
  // (log-sink.ts) and flushes it at the end of shutdown, so the shutdown steps still appear in order.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
