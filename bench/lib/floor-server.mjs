#!/usr/bin/env node
/**
 * The floor: what HTTP alone costs on this machine. A bare Fastify server (no
 * logger, defaults otherwise) with one JSON POST route that parses the request
 * body like any Fastify route and returns a fixed, decision-sized body. Run as
 * its own process by bench/run.mjs.
 */
import Fastify from 'fastify';
import { listenAndReport } from './child.mjs';
import { DECISION } from './payloads.mjs';

const app = Fastify({ logger: false });
app.post('/floor', async () => DECISION);
await listenAndReport(app);
