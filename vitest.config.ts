import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    globalSetup: ['test/secret-scan.global.ts'],
    setupFiles: ['test/setup/fail-on-timer-overflow.ts'],
  },
});
