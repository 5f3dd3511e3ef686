/**
 * A batch of 10 pre-call checks (POST /v1/evaluate/batch) against 10 single
 * /v1/evaluate calls (issue 24): decisions per second of each, alternated in
 * the same run on the same service, and their ratio per connection count
 * (goal ≥ 3). The calls are the evaluate scenario's get_issue call on ten
 * different issues of the github guard (each costs the guard the same).
 */
import { GET_ISSUE_ARGS } from '../lib/payloads.mjs';

export const name = 'batch';
export const BATCH_SIZE = 10;

export async function run(ctx) {
  const calls = Array.from({ length: BATCH_SIZE }, (_, i) => ({ tool: 'get_issue', args: { ...GET_ISSUE_ARGS, issue_number: 100 + i } }));
  const targets = [
    {
      name: 'single',
      label: '/v1/evaluate, one call per request',
      server: ctx.service,
      path: '/v1/evaluate',
      body: JSON.stringify({ guard: 'github', ...calls[0] }),
    },
    {
      name: 'batch',
      label: `/v1/evaluate/batch, ${BATCH_SIZE} calls per request`,
      server: ctx.service,
      path: '/v1/evaluate/batch',
      body: JSON.stringify({ defaults: { guard: 'github' }, calls }),
    },
  ];
  const rows = await ctx.alternate({ scenario: name, rounds: ctx.opts.rounds, targets, floor: 'single' });
  // Decisions per second: a batch request answers BATCH_SIZE of them.
  for (const row of rows) row.decisionsPerSec = Math.round(row.rps * (row.target === 'batch' ? BATCH_SIZE : 1));
  const ratios = Object.fromEntries(
    ctx.opts.connections.map((c) => {
      const single = rows.find((r) => r.target === 'single' && r.connections === c);
      const batch = rows.find((r) => r.target === 'batch' && r.connections === c);
      return [c, single && batch ? Math.round((batch.decisionsPerSec / single.decisionsPerSec) * 100) / 100 : null];
    }),
  );
  for (const [c, ratio] of Object.entries(ratios)) ctx.log(`  batch: ${ratio}× the decisions per second of single calls at c=${c}`);
  return { rows, batchDecisionsRatio: ratios, note: `decisionsPerSec = rps × ${BATCH_SIZE} for the batch rows; vsFloor is per request, not per decision` };
}
