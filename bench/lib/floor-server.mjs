#!/usr/bin/env node
/**
 * The floor: what HTTP alone costs on this machine. A bare Fastify server (no
 * logger, defaults otherwise) with one JSON POST route that parses the request
 * body like any Fastify route and returns a fixed, decision-sized body. Run as
 * its own process by bench/run.mjs.
 */
import Fastify from 'fastify';
import { listenAndReport } from './child.mjs';

// The shape and size of a real /v1/evaluate reply (github guard, read needing a response check).
const DECISION = {
  decision_id: '8c195b83-8bb6-4c0d-a665-5994df20f151',
  decision: 'allow',
  operation: 'read',
  resource: { secrecy: [], integrity: [], description: 'repo octo-org/app' },
  check_response: true,
  mode: 'filter',
  agent: { secrecy: [], integrity: ['unapproved:github', 'approved:github'] },
  reason:
    "read of 'repo octo-org/app' needs a per-item response check: resource integrity lacks [approved:github, unapproved:github] (agent integrity must be a subset of resource integrity)",
};

const app = Fastify({ logger: false });
app.post('/floor', async () => DECISION);
await listenAndReport(app);
