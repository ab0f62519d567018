import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Docker-backed files share one engine and a 2-core machine: run files one at a time.
    fileParallelism: false,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'docker',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // Builds missing lab images once and sweeps what killed earlier runs left behind.
          globalSetup: ['test/docker-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
