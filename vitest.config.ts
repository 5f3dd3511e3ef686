import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker threads and real servers: keep files isolated but let the 2-core
    // machine breathe.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
