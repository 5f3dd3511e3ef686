#!/usr/bin/env node
/**
 * The service's own HTTP layer with no guard behind it: the real app
 * (buildApp: request ids, schema validation and serialisation, per-request
 * metrics, load shedding, the decision log at the default level) whose
 * decision service answers /v1/evaluate with a fixed decision instead of
 * calling a guard and the DIFC check. It separates what the HTTP layer costs
 * from what the guard runtime adds: the service can go no faster than this
 * row. Diagnostic only; run as its own process by bench/run.mjs.
 */
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../dist/http/app.js';
import { DecisionService } from '../../dist/decision/decision-service.js';
import { CompilationCache } from '../../dist/guard/index.js';
import { Readiness } from '../../dist/http/readiness.js';
import { Metrics } from '../../dist/metrics/metrics.js';
import { GuardRegistry } from '../../dist/runtime/guard-registry.js';
import { createLogSink } from '../../dist/service/log-sink.js';
import { createLogger } from '../../dist/service/logger.js';
import { SERVER_DEFAULTS } from '../../dist/config/settings.js';
import { DECISION } from './payloads.mjs';
import { listenAndReport } from './child.mjs';

/** Answers like the real service for the github guard's get_issue, with no guard call and no DIFC check. */
class FixedDecisions extends DecisionService {
  async evaluate() {
    return { ...DECISION, decision_id: randomUUID() };
  }
}

const server = SERVER_DEFAULTS;
// The service's own asynchronous stdout (server.ts), not the synchronous one tools get: with it this row was slower
// than the service it is a bound for (13.9k against 15.3k req/s at 64 connections in one run).
const logger = createLogger(server, createLogSink().stream);
const registry = await GuardRegistry.load([], new CompilationCache(), { logger, logLevel: server.logLevel });
const app = await buildApp({
  server,
  decisions: new FixedDecisions(registry, 'filter'),
  metrics: new Metrics(),
  readiness: new Readiness(registry),
  logger,
});
await listenAndReport(app);
