/**
 * Graceful shutdown over real HTTP: readiness goes false, a request in flight
 * finishes, nothing new is served, then the guard pools close.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RUST_GUARD, startService, type TestService } from '../support/server.js';

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw HTTP/1.1 responses (content-length framed, as Fastify sends JSON) off one connection. */
function parseResponses(raw: string): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`incomplete response: ${rest.slice(0, 200)}`);
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length']);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + length);
  }
  return responses;
}

let s: TestService | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('shutdown', () => {
  it('finishes the request in flight, answers nothing more on its connection, then closes the pools', async () => {
    s = await startService({ guards: [{ name: 'rust', path: RUST_GUARD, timeoutMs: 20_000 }], server: { graceMs: 20_000 } });
    // One keep-alive connection carrying both requests: the second one is written after close() began,
    // while the first still runs, so it reaches a closing server.
    const { port } = new URL(s.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const ended = once(socket, 'close');
    const request = (body: unknown) => {
      const text = JSON.stringify(body);
      return `POST /v1/evaluate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    try {
      socket.write(request({ guard: 'rust', tool: 'sleep', args: { ms: 1500 } }));
      await s.waitForGuard('rust', (g) => g.pool.instances.busy === 1);

      const closing = s.service.close();
      expect(s.service.readiness.check()).toEqual({ ready: false, reason: 'draining' });
      socket.write(request({ guard: 'rust', tool: 'get_issue' }));
      await closing;
      await ended;
    } finally {
      socket.destroy();
    }

    // The request in flight finished; the connection was then closed, so the late request got no answer
    // (never a 200 from a closing service). A gateway treats that as a failure: it fails closed.
    const responses = parseResponses(received);
    expect(responses).toHaveLength(1);
    const [done] = responses as [ParsedResponse];
    expect(done.status, done.body).toBe(200);
    expect(done.headers.connection).toBe('close');
    expect(JSON.parse(done.body).resource.description).toBe('slept 1500 ms');
    // After the HTTP server, the guard pools were closed.
    await expect(s.service.registry.get('rust')!.pool.call({ fn: 'label_resource', input: '{}' })).rejects.toThrow(/shutting down/);
  });

  it('readyz answers 503 while draining, healthz still 200', async () => {
    s = await startService({ guards: [{ name: 'rust', path: RUST_GUARD }] });
    expect((await s.get('/readyz')).status).toBe(200);
    s.service.readiness.drain();
    const ready = await s.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not ready', reason: 'draining', session_store: 'up' });
    expect((await s.get('/healthz')).status).toBe(200);
  });

  it('close() is idempotent and the port is released', async () => {
    s = await startService({ guards: [{ name: 'rust', path: RUST_GUARD }] });
    const { url } = s;
    await Promise.all([s.close(), s.close()]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
