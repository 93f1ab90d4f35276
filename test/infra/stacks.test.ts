import { beforeAll } from 'vitest';
import { infraFixture, type InfraFixture } from './support/app.js';
import { bundlesSuite } from './suites/bundles.js';
import { cellSuite } from './suites/cell.js';
import { controlPlaneSuite } from './suites/control-plane.js';
import { evidenceSuite } from './suites/evidence.js';
import { isolationSuite } from './suites/isolation.js';
import { nagSuite } from './suites/nag.js';
import { routerSuite } from './suites/router.js';

/**
 * Synthesizes the whole app once, exactly as `sst deploy` would build it — every function bundled
 * by esbuild, cdk-nag applied — but offline (fixed stage, fake account, no credentials), and runs
 * every suite on that one result. Bundling is the slow part, so it happens once per test run.
 */
let infra: InfraFixture | undefined;

beforeAll(async () => {
  infra = await infraFixture({ bundle: true });
}, 480_000);

const fixture = (): InfraFixture => {
  if (!infra) throw new Error('the app has not been synthesized');
  return infra;
};

cellSuite(fixture);
isolationSuite(fixture);
evidenceSuite(fixture);
controlPlaneSuite(fixture);
routerSuite(fixture);
nagSuite(fixture);
bundlesSuite(fixture);
