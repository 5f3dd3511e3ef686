import { fileURLToPath } from 'node:url';
import type { CommandIo } from './io.js';
import { SERVE_USAGE } from './usage.js';

/**
 * `wasmguard serve` runs the server entry itself (dist/server.js, the
 * Dockerfile's command), so the two never drift: it reads its settings from
 * process.argv, which is set to what `node dist/server.js ...` would see.
 */
export async function runServe(argv: string[], io: CommandIo): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(`${SERVE_USAGE()}\n`);
    return 0;
  }
  const entry = new URL('../server.js', import.meta.url);
  process.argv = [process.argv[0]!, fileURLToPath(entry), ...argv];
  await import(entry.href);
  return undefined;
}
