import { defineConfig } from 'vitest/config';

// Two projects. `unit` (test/unit): pure logic and in-memory fakes, no Redis and no Docker, so
// `npx vitest run --project unit` (and `npm run check`) runs on any machine in seconds. `integration`
// (test/integration): the real Redis and Docker engine, which its global setup checks first; its files run
// one at a time, as they share the engine. The unit project runs first (groupOrder), then the integration one.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['test/globalSetup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
