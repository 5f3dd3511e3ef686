/**
 * The bound on tool results checked at once: the byte budget on its own, then
 * through the shipped process (node dist/server.js), where a result waits
 * with its body unread, is refused with 503 past its wait, and a client that
 * leaves gives its place up.
 */
import { getEventListeners } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/http/result-admission.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { untilReady } from '../support/ready.js';

describe('ByteBudget', () => {
  it('admits while the bytes fit, then in order as bytes are released', async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    expect(budget.inFlight).toBe(100);
    const order: string[] = [];
    const c = budget.acquire(30).then((release) => (order.push('c'), release));
    const d = budget.acquire(10).then((release) => (order.push('d'), release));
    await sleep(1);
    // d would fit after c, but does not overtake it.
    expect(order).toEqual([]);
    expect(budget.waiting).toBe(2);
    // Nothing is taken past the line, even what would fit.
    expect(budget.tryAcquire(0)).toBeUndefined();
    a();
    a(); // releasing twice gives back the bytes once
    const [releaseC, releaseD] = await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
    expect(budget.inFlight).toBe(80);
    b();
    releaseC();
    releaseD();
    expect(budget.inFlight).toBe(0);
  });

  it('admits a body larger than the whole budget when nothing else is in flight, and only then', async () => {
    const budget = new ByteBudget(100);
    const small = await budget.acquire(10);
    let admitted = false;
    const big = budget.acquire(1000).then((release) => ((admitted = true), release));
    await sleep(1);
    expect(admitted).toBe(false);
    small();
    const release = await big;
    expect(budget.inFlight).toBe(1000);
    release();
    expect(budget.inFlight).toBe(0);
  });

  it('a waiter whose signal fires leaves the line and the ones behind it move up', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(50);
    const gone = new AbortController();
    const big = budget.acquire(80, { signal: gone.signal });
    const small = budget.acquire(40);
    await sleep(1);
    expect(budget.waiting).toBe(2);
    gone.abort(new Error('left'));
    await expect(big).rejects.toThrow('left');
    // The small one fitted all along; it was only behind the big one.
    const release = await small;
    expect(budget.inFlight).toBe(90);
    release();
    held();
    expect(budget.waiting).toBe(0);
    expect(budget.inFlight).toBe(0);
    await expect(budget.acquire(1, { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('a waiter that times out leaves the line with undefined, and the ones behind it move up', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(50);
    const big = budget.acquire(80, { timeoutMs: 20 });
    const small = budget.acquire(40, { timeoutMs: 60_000 });
    expect(budget.waiting).toBe(2);
    expect(await big).toBeUndefined();
    const release = await small;
    expect(release).toBeTypeOf('function');
    expect(budget.inFlight).toBe(90);
    release!();
    held();
    expect(budget.inFlight).toBe(0);
  });

  it('a waiter that is admitted, or leaves, keeps no timer or listener behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const budget = new ByteBudget(100);
    const held = await budget.acquire(100);
    const before = timers();
    const leaving = new AbortController();
    const staying = new AbortController();
    const listeners = () => getEventListeners(staying.signal, 'abort').length + getEventListeners(leaving.signal, 'abort').length;
    const admitted = budget.acquire(60, { signal: staying.signal, timeoutMs: 60_000 });
    const left = budget.acquire(50, { signal: leaving.signal, timeoutMs: 60_000 });
    expect(timers()).toBe(before + 2);
    expect(listeners()).toBe(2);
    held();
    const release = await admitted;
    leaving.abort(new Error('left'));
    await expect(left).rejects.toThrow('left');
    expect(timers()).toBe(before);
    expect(listeners()).toBe(0);
    release!();
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new ByteBudget(0)).toThrow(RangeError);
    expect(() => new ByteBudget(1.5)).toThrow(RangeError);
  });
});

const POLICY = { tools: { read_doc: { operation: 'read', secrecy: [], integrity: [] } } };
const RESULT = { content: [{ type: 'text', text: JSON.stringify({ doc: 'x'.repeat(1200) }) }] };
const BODY = JSON.stringify({ guard: 'static', tool: 'read_doc', policy: POLICY, result: RESULT });

describe('node dist/server.js: WASMGUARD_RESULT_BYTES_IN_FLIGHT', () => {
  let server: ServerProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // A budget of one body; a result waits at most 400 ms (half the request timeout).
    server = await startServerProcess({ WASMGUARD_RESULT_BYTES_IN_FLIGHT: String(BODY.length), WASMGUARD_REQUEST_TIMEOUT_MS: '800' });
    await untilReady(server.url);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  /** A response check whose body is sent only in part: admitted, it holds its bytes until the rest comes. */
  function partialRequest(): { socket: Socket; finish: () => Promise<string> } {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /v1/evaluate/response HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\nconnection: close\r\n\r\n`);
    socket.write(BODY.slice(0, 100));
    return {
      socket,
      finish: async () => {
        socket.write(BODY.slice(100));
        await ended;
        return reply;
      },
    };
  }

  const check = () => fetch(`${server.url}/v1/evaluate/response`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
  /** The gauge once it reads `value` (a busy machine may take a moment to deliver the bytes), else what it read last. */
  const metricReaches = async (name: string, value: number) => {
    let now = await metric(name);
    for (let i = 0; i < 100 && now !== value; i++) {
      await sleep(20);
      now = await metric(name);
    }
    return now;
  };

  it('a result waits while the budget is taken, and is checked once the one before it is answered', async () => {
    const holder = partialRequest();
    expect(await metricReaches('wasmguard_result_bytes_in_flight', BODY.length)).toBe(BODY.length);
    const waiting = check();
    expect(await metricReaches('wasmguard_result_checks_waiting', 1)).toBe(1);
    const held = await holder.finish();
    expect(held).toMatch(/^HTTP\/1\.1 200 /);
    const reply = await waiting;
    expect(reply.status).toBe(200);
    expect(await reply.json()).toMatchObject({ decision: 'allow', result: RESULT });
    expect(await metricReaches('wasmguard_result_bytes_in_flight', 0)).toBe(0);
  });

  it('a result that waits past its bound gets 503 WG_ERR_OVERLOADED with Retry-After, and the service keeps serving', async () => {
    const holder = partialRequest();
    expect(await metricReaches('wasmguard_result_bytes_in_flight', BODY.length)).toBe(BODY.length);
    const started = performance.now();
    const refused = await check();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { decision: string; error: { code: string; message: string } };
    expect(body.decision).toBe('deny');
    expect(body.error.code).toBe('WG_ERR_OVERLOADED');
    expect(body.error.message).toContain('WASMGUARD_RESULT_BYTES_IN_FLIGHT');
    // It waited for its bound, not for the holder (whose request times out at 800 ms).
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(await holder.finish()).toMatch(/^HTTP\/1\.1 200 /);
    expect((await check()).status).toBe(200);
  });

  it('a client that leaves while waiting, or while its body is unread, gives its bytes back', async () => {
    const holder = partialRequest();
    expect(await metricReaches('wasmguard_result_bytes_in_flight', BODY.length)).toBe(BODY.length);
    const leaver = partialRequest(); // waits: the holder has the budget
    expect(await metricReaches('wasmguard_result_checks_waiting', 1)).toBe(1);
    leaver.socket.destroy();
    expect(await metricReaches('wasmguard_result_checks_waiting', 0)).toBe(0);
    holder.socket.destroy();
    expect(await metricReaches('wasmguard_result_bytes_in_flight', 0)).toBe(0);
    // A client that leaves is not the service's error.
    expect(server.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect((await check()).status).toBe(200);
  });
});
