// Tests run against the TypeScript sources of the workspace packages, so no build is needed
// for unit tests; tests that execute bundles or the CLI build them first (see test/support/build.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@ferry\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@ferry\/([a-z-]+)\/([a-z-]+)$/, replacement: `${root}packages/$1/src/$2/index.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
