#!/usr/bin/env node
/**
 * The floor: what HTTP alone costs on this machine. A bare Fastify server (no
 * logger, defaults otherwise) with one JSON POST route that parses the request
 * body like any Fastify route and returns a fixed, decision-sized body. Run as
 * its own process by bench/run.mjs.
 *
 * /echo is the echo floor of the response rows: it parses the body like any
 * Fastify route and sends the parsed value back, so it pays for parsing and
 * serialising the same bytes the response check reads and returns.
 *
 * With an argument N (µs), the route first busy-waits N µs: the sensitivity
 * scenario's "floor plus N µs of work", which shows what a little work per
 * request costs in throughput on this machine.
 */
import Fastify from 'fastify';
import { listenAndReport } from './child.mjs';
import { DECISION } from './payloads.mjs';

const workUs = Number(process.argv[2] ?? 0);
const work = () => {
  const until = performance.now() + workUs / 1000;
  while (performance.now() < until);
};

const app = Fastify({ logger: false });
// Without work, the route is exactly the plain one: the floor itself is unchanged.
const withWork = async () => {
  work();
  return DECISION;
};
app.post('/floor', workUs > 0 ? withWork : async () => DECISION);
app.post('/echo', async (request) => request.body);
await listenAndReport(app);
