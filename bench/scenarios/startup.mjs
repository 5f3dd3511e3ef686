/**
 * Startup: time from spawning `node dist/server.js` (no config: the bundled
 * sample guards, default pool sizes) to the first 200 from /readyz, repeated
 * and summarised by the median. Run first, on an idle machine.
 */
import { join } from 'node:path';
import { startService } from '../lib/service-process.mjs';

export const name = 'startup';

export async function run(ctx) {
  const samples = [];
  for (let i = 0; i < ctx.opts.startupRuns; i++) {
    const service = await startService({ logFile: join(ctx.tmp, `startup-${i}.log`) });
    const idleRss = service.rss();
    await service.stop();
    samples.push({ readyMs: round(service.readyMs), listeningMs: round(service.listeningMs), rssMB: round(idleRss / 1048576, 1) });
  }
  const sorted = samples.map((s) => s.readyMs).sort((a, b) => a - b);
  const info = { runs: samples, medianReadyMs: sorted[Math.floor(sorted.length / 2)], maxReadyMs: sorted.at(-1) };
  ctx.log(`  startup: ready in ${sorted.join(', ')} ms (median ${info.medianReadyMs})`);
  return { rows: [], info };
}

const round = (v) => Math.round(v * 10) / 10;
