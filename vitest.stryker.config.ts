import { defineConfig } from 'vitest/config';

// The mutation run (`npm run mutation`, see stryker.config.json) runs core's own unit suites only: they
// are the specification of the isolation- and lifecycle-critical modules it mutates, and they run in
// seconds, so each mutant is judged by the tests that own its module rather than by the slow
// end-to-end suites (which still run in `npm test`).
export default defineConfig({
  test: {
    include: ['packages/core/src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
