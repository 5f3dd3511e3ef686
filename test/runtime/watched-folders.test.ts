import { describe, expect, it } from 'vitest';
import { watchedFolders } from '../../src/runtime/watched-folders.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';

const guard = (name: string, path: string) => ({ name, path, timeoutMs: 1000, memoryLimitMb: 32 });

describe('watchedFolders', () => {
  it('watches the guards folder, the config file folder and each guard folder, once each', () => {
    expect(
      watchedFolders({
        server: SERVER_DEFAULTS,
        backends: {},
        guardsDir: '/etc/guards',
        configFile: '/etc/wasmguard/config.yaml',
        guards: [guard('a', '/etc/guards/a.wasm'), guard('b', '/opt/extra/b.wasm'), guard('c', '/opt/extra/c.wasm')],
      }),
    ).toEqual(['/etc/guards', '/etc/wasmguard', '/opt/extra']);
  });

  it('without a config file or folder, watches the folders of the guards', () => {
    expect(watchedFolders({ server: SERVER_DEFAULTS, backends: {}, guards: [guard('a', '/srv/a.wasm')] })).toEqual(['/srv']);
  });
});
