/**
 * The three-step flow of a gateway around one tool call, on each connection:
 * label the agent (POST /v1/agents/label), evaluate the call with the agent's
 * labels (POST /v1/evaluate), then check the result (POST
 * /v1/evaluate/response, 30-item list_issues result, with the operation and
 * resource from step 2). req/s counts each step; flows/s = req/s / 3. The
 * floor answers the same three request bodies.
 */
import { GITHUB_POLICY, LIST_ISSUES_ARGS, listIssuesResult } from '../lib/payloads.mjs';

export const name = 'flow';

const json = (v) => JSON.stringify(v);

export async function run(ctx) {
  const labelBody = json({ guard: 'github', policy: GITHUB_POLICY });
  const resultJson = json(listIssuesResult(30));
  const argsJson = json(LIST_ISSUES_ARGS);
  const evaluateBody = (agent) => `{"guard":"github","tool":"list_issues","args":${argsJson},"policy":${json(GITHUB_POLICY)},"agent":${json(agent)}}`;
  const responseBody = (agent, operation, resource) =>
    `{"guard":"github","tool":"list_issues","args":${argsJson},"policy":${json(GITHUB_POLICY)},"agent":${json(agent)},` +
    `"operation":${json(operation)},"resource":${json(resource)},"result":${resultJson}}`;

  const agent = await ctx.post('/v1/agents/label', labelBody);
  const evaluated = await ctx.post('/v1/evaluate', evaluateBody(agent.agent));
  const check = await ctx.post('/v1/evaluate/response', responseBody(agent.agent, evaluated.operation, evaluated.resource));
  ctx.log(`  flow: ${check.filtered.length}/30 items filtered in step 3`);

  const post = { method: 'POST', headers: { 'content-type': 'application/json' } };
  // Each step builds its body from the previous step's reply, as a gateway would.
  const serviceFlow = () => [
    {
      ...post,
      path: '/v1/agents/label',
      body: labelBody,
      onResponse: (status, body, context) => {
        if (status === 200) context.agent = JSON.parse(body).agent;
      },
    },
    {
      ...post,
      path: '/v1/evaluate',
      setupRequest: (req, context) => ({ ...req, body: evaluateBody(context.agent ?? agent.agent) }),
      onResponse: (status, body, context) => {
        if (status === 200) {
          const r = JSON.parse(body);
          context.operation = r.operation;
          context.resource = r.resource;
        }
      },
    },
    {
      ...post,
      path: '/v1/evaluate/response',
      setupRequest: (req, context) => ({
        ...req,
        body: responseBody(context.agent ?? agent.agent, context.operation ?? evaluated.operation, context.resource ?? evaluated.resource),
      }),
    },
  ];
  const floorFlow = () => [
    { ...post, path: '/floor', body: labelBody },
    { ...post, path: '/floor', body: evaluateBody(agent.agent) },
    { ...post, path: '/floor', body: responseBody(agent.agent, evaluated.operation, evaluated.resource) },
  ];
  const rows = await ctx.alternate({
    scenario: name,
    targets: [
      { name: 'floor', server: ctx.floor, path: '/floor', requests: floorFlow },
      { name: 'service', label: 'WasmGuard 3-step flow', server: ctx.service, path: '/', requests: serviceFlow },
    ],
  });
  for (const row of rows) row.flowsPerSecond = Math.round((row.rps / 3) * 10) / 10;
  return { rows };
}
