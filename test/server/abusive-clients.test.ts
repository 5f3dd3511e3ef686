/**
 * Slow and abusive clients against the shipped process: requests the HTTP
 * parser refuses get the documented error shape, and so does a compressed
 * body; a client dripping bytes is
 * cut off at the request timeout, connections past the cap are closed, and
 * x-request-id is bounded.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';

let server: ServerProcess;
let port: number;
beforeAll(async () => {
  server = await startServerProcess({
    WASMGUARD_GUARDS_DIR: SAMPLE_GUARDS_DIR,
    WASMGUARD_REQUEST_TIMEOUT_MS: '1000',
    WASMGUARD_MAX_CONNECTIONS: '8',
  });
  port = Number(new URL(server.url).port);
});
afterAll(() => {
  server?.child.kill('SIGKILL');
});

/** Opens a raw connection and collects what the server sends until it closes the connection (bounded). */
async function rawConnection(): Promise<{ socket: Socket; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection still open after 10 s; received: ${received}`)), 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
  return { socket, closed };
}

function parse(raw: string): { status: number; headers: string; body: any } {
  const end = raw.indexOf('\r\n\r\n');
  return { status: Number(raw.split(' ')[1]), headers: raw.slice(0, end).toLowerCase(), body: JSON.parse(raw.slice(end + 4)) };
}

const DENY = { decision: 'deny' };

describe('abusive clients, on the shipped process', () => {
  it('a 20 KB header gets 431 in the documented error shape', async () => {
    const { socket, closed } = await rawConnection();
    socket.write(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const reply = parse(await closed);
    expect(reply.status).toBe(431);
    expect(reply.body).toEqual({ ...DENY, error: { code: 'WG_ERR_HEADERS_TOO_LARGE', message: expect.stringMatching(/request headers are over the limit of \d+ bytes/) } });
  });

  it('a bad content-length gets 400 in the documented error shape', async () => {
    const { socket, closed } = await rawConnection();
    socket.write('POST /v1/evaluate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: abc\r\n\r\n{}');
    const reply = parse(await closed);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ ...DENY, error: { code: 'WG_ERR_INVALID_REQUEST', message: 'the content-length header is not valid' } });
  });

  it('a malformed URL gets 400 in the documented error shape', async () => {
    const res = await fetch(`${server.url}/v1/guards/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ ...DENY, error: { code: expect.stringMatching(/^WG_ERR_/), message: expect.any(String) } });
  });

  it('a compressed body gets 415 in the documented error shape, not a JSON parse error', async () => {
    const res = await fetch(`${server.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: new Blob([gzipSync(JSON.stringify({ guard: 'github', tool: 'get_issue', args: {} }))]),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      ...DENY,
      error: { code: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', message: 'request body has content-encoding "gzip", which is not supported; send it uncompressed' },
    });
  });

  it.each([
    ['header', 'POST /v1/evaluate HTTP/1.1\r\nhost: x\r\n', 'x-drip: a\r\n'],
    ['body', 'POST /v1/evaluate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n', ' '],
  ])('a client dripping %s bytes is answered 408 and cut off at the request timeout', async (_what, head, drip) => {
    const { socket, closed } = await rawConnection();
    socket.write(head);
    let dripping = true;
    void (async () => {
      for (let i = 0; dripping && i < 40 && !socket.destroyed; i++) {
        await sleep(200);
        if (!socket.destroyed) socket.write(drip);
      }
    })();
    const raw = await closed;
    dripping = false;
    const reply = parse(raw);
    expect(reply.status).toBe(408);
    expect(reply.body).toEqual({ ...DENY, error: { code: 'WG_ERR_REQUEST_TIMEOUT', message: 'the request was not received in full within 1000 ms' } });
  });

  it('connections past the cap are closed at once, and the service keeps serving', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => rawConnection()));
    try {
      const extra = await rawConnection();
      expect(await extra.closed).toBe('');
    } finally {
      for (const c of held) c.socket.destroy();
    }
    await expect.poll(async () => (await fetch(`${server.url}/healthz`).catch(() => undefined))?.status, { timeout: 5000 }).toBe(200);
  });

  it('x-request-id is echoed when short and printable, and replaced when over 128 characters', async () => {
    const echo = async (id: string) => (await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': id } })).headers.get('x-request-id');
    expect(await echo('gateway-42')).toBe('gateway-42');
    const replaced = await echo('x'.repeat(129));
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect(await echo('x'.repeat(128))).toBe('x'.repeat(128));
  });
});
