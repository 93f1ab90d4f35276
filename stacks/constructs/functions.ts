import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionProps } from 'sst/constructs';

const LOG_RETENTION_KEY = 'ONE_MONTH' satisfies keyof typeof logs.RetentionDays;
/** How long every function log and API access log is kept. */
export const LOG_RETENTION = logs.RetentionDays[LOG_RETENTION_KEY];
/** The same retention, spelled the way SST's constructs take it. */
export const LOG_RETENTION_SST = LOG_RETENTION_KEY.toLowerCase() as Lowercase<typeof LOG_RETENTION_KEY>;

/** Same names and values the local platform sets, so handlers behave identically in both worlds. */
const OBSERVABILITY_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: 'cellbook',
  POWERTOOLS_METRICS_NAMESPACE: 'Cellbook',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_ENV: 'production',
};

/**
 * An execution role with no permissions at all: each function group is granted exactly what its
 * handlers call, next to the resource it concerns. No AWS managed policy is attached (not even
 * AWSLambdaBasicExecutionRole): log writes are granted on the function's own log group only.
 */
export function functionRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description,
  });
}

export interface HandlerOptions {
  /** A module under packages/functions/src that exports `handler` (as in the route table). */
  handler: string;
  role: iam.Role;
  environment: Record<string, string>;
  timeout?: number;
}

/**
 * Props for one Cellbook function: nodejs22.x on arm64, bundled by SST (esbuild, ESM, minified),
 * X-Ray active, logs (Powertools JSON lines) in a log group of its own with bounded retention.
 */
export function handlerProps(scope: Construct, id: string, options: HandlerOptions): FunctionProps {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: LOG_RETENTION });
  logGroup.grantWrite(options.role);
  return {
    handler: `packages/functions/src/${options.handler}.handler`,
    runtime: 'nodejs22.x',
    architecture: 'arm_64',
    memorySize: 1024,
    timeout: options.timeout ?? 10,
    tracing: 'active',
    role: options.role,
    logGroup,
    nodejs: { format: 'esm', minify: true, sourcemap: false },
    environment: { ...OBSERVABILITY_ENVIRONMENT, ...options.environment },
  };
}
