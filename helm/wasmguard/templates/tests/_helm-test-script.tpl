{{/*
The script of the helm test pod (run by node -e): GET /readyz must be 200,
then one decision by tests.guard (default: the first loaded guard) on
tests.tool must come back as a 200 with "allow" or "deny". Every failure
names what failed and exits 1. Each request is bounded by a 10 s timeout.
*/}}
{{- define "wasmguard.testScript" -}}
const base = process.env.WASMGUARD_URL;
const call = (path, init = {}) => fetch(base + path, { ...init, signal: AbortSignal.timeout(10000) });
(async () => {
  const ready = await call('/readyz');
  if (ready.status !== 200) throw new Error('GET /readyz answered ' + ready.status + ': ' + (await ready.text()));
  let guard = process.env.WASMGUARD_TEST_GUARD;
  if (!guard) {
    const list = await (await call('/v1/guards')).json();
    if (!list.guards || list.guards.length === 0) throw new Error('GET /v1/guards lists no guard');
    guard = list.guards[0].name;
  }
  const tool = process.env.WASMGUARD_TEST_TOOL || 'helm_test';
  const reply = await call('/v1/evaluate', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ guard, tool, args: {} }),
  });
  const body = await reply.json();
  if (reply.status !== 200 || (body.decision !== 'allow' && body.decision !== 'deny')) {
    throw new Error('POST /v1/evaluate (guard ' + guard + ', tool ' + tool + ') answered ' + reply.status + ': ' + JSON.stringify(body));
  }
  console.log('ok: /readyz is 200; guard ' + guard + ' decided ' + body.decision + ' on ' + tool);
})().catch((error) => {
  console.error('helm test failed: ' + error.message);
  process.exit(1);
});
{{- end }}
