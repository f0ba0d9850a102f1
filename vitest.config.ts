import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['contracts/test/**/*.test.ts', 'platform/test/**/*.test.ts', 'media-server/test/**/*.test.ts', 'pipeline/test/**/*.test.ts', 'web/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share the machine's real NATS/Postgres/Redis and 2 cores: run files one at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
