import type { ReleaseDeps } from '@cellbook/core/releases/orchestrator';
import type { CellProbe, CellTelemetry } from '@cellbook/core/releases/ports';
import { cloudformationDeployer } from './cloudformation-deployer.js';

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

/**
 * Not wired yet: `cloudwatchTelemetry` needs `@aws-sdk/client-cloudwatch`, which is not installed.
 * Until it is, a gate in AWS fails closed (the orchestrator treats the error as a failed gate step)
 * rather than promoting a wave it could not observe.
 */
export function cellTelemetry(_settings: AwsReleaseSettings): CellTelemetry {
  return {
    async observe(cellId) {
      throw new Error(`no CloudWatch telemetry for cell ${cellId}: @aws-sdk/client-cloudwatch is not installed yet`);
    },
  };
}

/** Not wired yet: core's `routerProbe` (`@cellbook/core/releases/probe`, another branch) goes here, given the router's URL. */
export function cellProbe(_settings: AwsReleaseSettings): CellProbe {
  return {
    async run(cellId) {
      return { ok: false, steps: [], error: `no probe for cell ${cellId} yet: routerProbe is not wired` };
    },
  };
}

export function awsReleaseDeps(settings: AwsReleaseSettings): ReleaseDeps {
  return {
    deployer: cloudformationDeployer({ namePrefix: settings.namePrefix, bucket: settings.bucket }),
    telemetry: cellTelemetry(settings),
    probe: cellProbe(settings),
    owner: settings.owner,
  };
}
