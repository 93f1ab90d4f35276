import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Suites boot real servers and worker threads; forks keep each file's platform in its own process.
    pool: 'forks',
    // Stops any DynamoDB Local JVM a crashed suite left (CELLBOOK_DYNAMODB=dynamodb-local).
    globalSetup: ['test/support/global-setup.ts'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.cellbook/vitest-report.json' }]],
    testTimeout: 30_000,
    // The SDK's Node 20 deprecation notice (see README) would otherwise repeat in every test process.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    hookTimeout: 60_000,
  },
});
