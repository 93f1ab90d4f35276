import type { ReleaseDeps } from '@cellbook/core/releases/orchestrator';
import { routerProbe } from '@cellbook/core/releases/probe';
import { cloudformationDeployer } from './cloudformation-deployer.js';
import { cloudwatchTelemetry } from './cloudwatch-telemetry.js';

/**
 * The orchestrator's adapters in AWS, wired once for both of its drivers: the scheduled
 * `control/release-driver` function and `npm run release:aws -- drive` (CI).
 */
export interface AwsReleaseSettings {
  /** `<stage>-<app>`: cell stacks and alarms are named after it. */
  namePrefix: string;
  /** The release artefact bucket (the ControlPlane stack's `ReleaseBucketName` output). */
  bucket: string;
  /** Who holds the release lease while driving (a function's request id, a CI run). */
  owner: string;
}

export function awsReleaseDeps(settings: AwsReleaseSettings): ReleaseDeps {
  return {
    deployer: cloudformationDeployer({ namePrefix: settings.namePrefix, bucket: settings.bucket }),
    telemetry: cloudwatchTelemetry({ namePrefix: settings.namePrefix }),
    // Through the router as every client (its URL from the SSM parameter the Router stack publishes).
    probe: routerProbe({}),
    owner: settings.owner,
  };
}
