/** createService builds the backends from config.backends and closes them last in the shutdown sequence. */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService } from '../../src/service/service.js';
import { startSdkMcpServer, type SdkMcpServer } from './helpers/sdk-mcp-server.js';
import { TEST_PRESSURE } from '../support/server.js';

const RUST_GUARD = fileURLToPath(new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url));
let mcp: SdkMcpServer | undefined;
afterEach(() => mcp?.close());

function config(url: string): ResolvedConfig {
  return {
    server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0 },
    guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 2000, memoryLimitMb: 64, backend: 'gh' }],
    backends: { gh: { type: 'mcp', url, tools: ['get_repository'] } },
  };
}

it('shutdown closes the backends after the guard pools and the cache, ending the MCP session', async () => {
  mcp = await startSdkMcpServer();
  const lines: Array<{ msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const service = await createService(config(mcp.url), { logger, pressure: TEST_PRESSURE });
  const { output } = await service.registry.get('rust')!.pool.call({
    fn: 'label_resource',
    input: JSON.stringify({ tool_name: 'backend', tool_args: { tool: 'get_repository', args: { owner: 'o', repo: 'r' } } }),
  });
  expect(JSON.parse(JSON.parse(output).resource.description).rc).toBeGreaterThan(0);
  expect(mcp.sessions.size).toBe(1);
  await service.close();
  const order = lines.map((l) => l.msg).filter((m) => m.startsWith('shutdown:'));
  expect(order.slice(-3)).toEqual(['shutdown: guard pools closed', 'shutdown: compilation cache closed', 'shutdown: backends closed']);
  expect(mcp.requests.at(-1)?.method).toBe('DELETE');
  expect(mcp.sessions.size).toBe(0);
});

it('options.backendFor replaces the configured backends (nothing is contacted through them)', async () => {
  mcp = await startSdkMcpServer();
  const calls: string[] = [];
  const service = await createService(config(mcp.url), {
    logger: pino({ level: 'silent' }),
    backendFor: () => async (tool) => {
      calls.push(tool);
      return '{"stub":true}';
    },
  });
  try {
    const { output } = await service.registry.get('rust')!.pool.call({
      fn: 'label_resource',
      input: JSON.stringify({ tool_name: 'backend', tool_args: { tool: 'get_repository' } }),
    });
    expect(JSON.parse(JSON.parse(output).resource.description).result).toEqual({ stub: true });
    expect(calls).toEqual(['get_repository']);
    expect(mcp.requests).toHaveLength(0);
  } finally {
    await service.close();
  }
});
