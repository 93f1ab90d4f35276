/**
 * "Deploys" one cell as its Cell stack would: its table, roles, function groups, REST API with one
 * usage plan per tier, the policies it grants the control identities, its gateway, and its entry in
 * the cell catalog.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as Cell from '@cellbook/core/cells/cell';
import * as Releases from '@cellbook/core/releases/release';
import { AUTHORIZER_CACHE_TTL_SECONDS, TIERS, TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import type { ControlIdentity } from '@cellbook/core/access/control-identities';
import { usageSubscriptionName } from '@cellbook/core/metering/usage-intake';
import { CELL_AUTHORIZER, CELL_ROUTES, LOG_SUBSCRIBERS } from '@cellbook/functions/routes';
import type { LocalApiGateway } from '../aws/api-gateway.js';
import type { LocalIam } from '../aws/local-iam.js';
import type { Clock, PolicyDocument } from '../aws/types.js';
import { createRestGateway, type GatewayRoute } from '../gateway/rest-gateway.js';
import type { FunctionHost, InvocationRecord, LogSink } from '../lambda/function-host.js';
import type { LocalCellHandle, PlatformOptions } from '../platform.js';
import type { LocalRelease } from '../release/build.js';
import type { LocalCellTelemetry } from '../release/telemetry.js';
import { cellControlPolicies, cellRoles } from '../roles/cell-roles.js';
import { controlRoleArn } from '../roles/control-roles.js';
import type { HostFunctions } from './control-plane.js';
import { close, listen } from './listen.js';
import { cellBucketName, PREFIX, STAGE } from './naming.js';

/** What a booted cell grants the control identities, and its tenant access role (for the drill role). */
export interface CellGrants {
  cellId: string;
  tenantAccessArn: string;
  policies: { identity: ControlIdentity; policyName: string; document: PolicyDocument }[];
}

export interface CellDeploymentInput {
  options: PlatformOptions;
  iam: LocalIam;
  host: HostFunctions;
  apiGateway: LocalApiGateway;
  adminDocs: DynamoDBDocumentClient;
  createTable: (tableName: string, listingIndex: boolean) => Promise<unknown>;
  /** Creates the cell's evidence bucket, as its stack does. */
  createBucket: (bucketName: string) => Promise<void>;
  cellTable: (cellId: string) => string;
  tenantsTable: string;
  cellsTable: string;
  controlApiStageArn: string;
  /** Where the cell's API functions reach the identity broker. */
  controlPlaneUrl: string;
  gatewayClock: Clock;
  onLog: LogSink;
  /** Adds a log subscription filter of the cell's (the Cell stack's cellUsageDelivery), delivering to a control-plane handler. */
  subscribeLogs: (subscription: { filterName: string; logGroup: string; filterPattern: string; handler: string; timeoutSeconds: number }) => void;
  cleanups: (() => Promise<void>)[];
  /** Called with what the cell granted, once its policies are on the control roles. */
  onGrants: (grants: CellGrants) => void;
  /** cell id → gateway URL, which the router reads. */
  cellServers: Map<string, string>;
  cells: LocalCellHandle[];
  /** The release the cell boots with. */
  release: LocalRelease;
  /** Where the cell's gateway and functions report what they served. */
  telemetry: LocalCellTelemetry;
}

/** A cell's two function groups. */
interface CellFunctions {
  api: FunctionHost;
  authorizer: FunctionHost;
}

export async function deployCell(definition: Cell.CellDefinition, input: CellDeploymentInput): Promise<LocalCellHandle> {
  const {
    options,
    iam,
    host,
    apiGateway,
    adminDocs,
    createTable,
    createBucket,
    cellTable,
    tenantsTable,
    cellsTable,
    controlApiStageArn,
    controlPlaneUrl,
    gatewayClock,
    onLog,
    subscribeLogs,
    cleanups,
    onGrants,
    cellServers,
    cells,
    release,
    telemetry,
  } = input;
  const cellId = definition.cellId;
  const tableName = cellTable(definition.cellId);
  await createTable(tableName, true);
  await createBucket(cellBucketName(definition.cellId));
  const roles = cellRoles({
    prefix: PREFIX,
    cellId: definition.cellId,
    tableName,
    bucketName: cellBucketName(definition.cellId),
    tenantsTable,
    controlApiStageArn,
  });
  for (const role of [roles.api, roles.authorizer, roles.tenantAccess]) iam.createRole(role);
  const cellEnv = {
    CELL_ID: definition.cellId,
    TABLE_NAME: tableName,
    EVIDENCE_BUCKET: cellBucketName(definition.cellId),
    TENANTS_TABLE: tenantsTable,
    ...(options.meteringOffCells?.includes(definition.cellId) ? { METERING: 'off' } : {}),
  };
  // Both groups run from the release and report every invocation to the cell's telemetry.
  const hostOptions = { code: release, onInvocation: (record: InvocationRecord) => telemetry.recordInvocation(cellId, record) };
  const api = host(
    `${PREFIX}-${definition.cellId}-api`,
    roles.api.arn,
    CELL_ROUTES.map((r) => r.handler),
    {
      ...cellEnv,
      TENANT_ROLE_ARN: roles.tenantAccess.arn,
      IDENTITY_BROKER_URL: controlPlaneUrl,
    },
    hostOptions,
  );
  const authorizer = host(`${PREFIX}-${definition.cellId}-authorizer`, roles.authorizer.arn, [CELL_AUTHORIZER], cellEnv, hostOptions);

  // The functions the gateway invokes: swapped, never mutated, by a deploy.
  let current: CellFunctions = { api, authorizer };
  let releaseId = release.releaseId;
  /** Every host of the cell not stopped yet: the current ones, and the previous ones while they drain. */
  const live = new Set<FunctionHost>([api, authorizer]);
  cleanups.push(async () => {
    await Promise.all([...live].map((functionHost) => functionHost.stop()));
  });
  /**
   * Brings the cell to `next` without failing a request: new execution environments from the new
   * bundles (same roles' sessions, same environment), warmed; then the gateway's target switches
   * in one assignment; then the previous hosts finish everything they had accepted and stop.
   */
  const swapTo = async (next: LocalRelease): Promise<void> => {
    if (next.releaseId === releaseId) return;
    const successors: CellFunctions = { api: current.api.successor(next), authorizer: current.authorizer.successor(next) };
    live.add(successors.api);
    live.add(successors.authorizer);
    try {
      await Promise.all([successors.api.warm(), successors.authorizer.warm()]);
    } catch (error) {
      for (const functionHost of [successors.api, successors.authorizer]) {
        live.delete(functionHost);
        await functionHost.stop();
      }
      throw error;
    }
    const previous = current;
    current = successors;
    releaseId = next.releaseId;
    await Promise.all(
      [previous.api, previous.authorizer].map(async (functionHost) => {
        await functionHost.drain();
        live.delete(functionHost);
      }),
    );
  };
  /** Deploys queue behind each other: two never overlap on one cell. */
  let deploying: Promise<void> = Promise.resolve();
  const deploy = (next: LocalRelease): Promise<void> => {
    const run = deploying.then(() => swapTo(next));
    deploying = run.catch(() => undefined);
    return run;
  };

  // A kept gateway (PlatformOptions.dataDir) has the cell's API and plans already, under the ids the
  // registry and the tenants' API keys name: found by name and brought to the tiers' settings, as a
  // redeploy updates a stack's resources in place.
  const apiName = `${PREFIX}-${definition.cellId}`;
  const restApi = apiGateway.restApiNamed(apiName) ?? apiGateway.createRestApi(apiName);
  const usagePlans = {} as Record<TierName, string>;
  for (const tier of TIER_NAMES) {
    const { throttle, quota } = TIERS[tier];
    const settings = {
      name: `${PREFIX}-${definition.cellId}-${tier}`,
      apiStages: [{ apiId: restApi.id, stage: STAGE }],
      throttle,
      ...(quota ? { quota: { limit: quota.limit, period: quota.period, offset: 0 as const } } : {}),
    };
    const existing = apiGateway.usagePlanNamed(settings.name);
    if (existing) apiGateway.updateUsagePlan(existing.id, { ...settings, quota: settings.quota ?? null });
    usagePlans[tier] = existing?.id ?? apiGateway.createUsagePlan(settings).id;
  }
  // What the control identities may do in this cell, and nothing more (the Cell stack's policies).
  const policies = cellControlPolicies({
    prefix: PREFIX,
    cellId: definition.cellId,
    tableName,
    tenantAccessRoleArn: roles.tenantAccess.arn,
    restApiId: restApi.id,
    stage: STAGE,
    usagePlans,
  });
  for (const policy of policies) iam.putRolePolicy(controlRoleArn(PREFIX, policy.identity), policy.policyName, policy.document);
  onGrants({ cellId: definition.cellId, tenantAccessArn: roles.tenantAccess.arn, policies });
  const routes: GatewayRoute[] = CELL_ROUTES.map((route) => ({
    method: route.method,
    path: route.path,
    function: route.handler,
    ...(route.auth === 'none' ? { apiKeyRequired: false } : { authorizer: CELL_AUTHORIZER, apiKeyRequired: true }),
  }));
  const cellGateway = createRestGateway({
    apiId: restApi.id,
    stage: STAGE,
    routes,
    authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? AUTHORIZER_CACHE_TTL_SECONDS,
    invoke: (name, event, timeoutMs) => (name === CELL_AUTHORIZER ? current.authorizer : current.api).invoke(name, event, timeoutMs),
    meter: (apiKeyValue) => apiGateway.meter({ apiId: restApi.id, stage: STAGE, apiKeyValue }).outcome,
    apiKeyIdOf: apiGateway.apiKeyIdOf,
    now: gatewayClock,
    onAccessLog: (entry) => onLog(`${PREFIX}-${definition.cellId}-gateway`, JSON.stringify(entry)),
    onAnswer: (answer) => telemetry.recordRequest(cellId, answer),
  });
  apiGateway.onAuthorizerCacheFlush(restApi.id, STAGE, cellGateway.flushAuthorizerCache);
  // The cell's usage goes to the control plane as the Cell stack sends it: its functions' usage lines
  // and its access log, under a subscription named after the cell.
  for (const subscriber of LOG_SUBSCRIBERS) {
    const subscription = { filterName: usageSubscriptionName(cellId), handler: subscriber.handler, timeoutSeconds: subscriber.timeoutSeconds };
    subscribeLogs({ ...subscription, logGroup: `${PREFIX}-${cellId}-api`, filterPattern: subscriber.functionLogPattern });
    subscribeLogs({ ...subscription, logGroup: `${PREFIX}-${cellId}-gateway`, filterPattern: subscriber.accessLogPattern });
  }
  const gateway = await listen(cellGateway.listener, options.ports?.cells?.[cellId], `${cellId} API`);
  cleanups.push(() => close(gateway.server));
  cellServers.set(definition.cellId, gateway.url);
  await Cell.register(
    {
      ...definition,
      status: 'active',
      tableName,
      apiId: restApi.id,
      stage: STAGE,
      tenantRoleArn: roles.tenantAccess.arn,
      evidenceBucket: cellBucketName(definition.cellId),
      usagePlans,
    },
    { db: adminDocs, tableName: cellsTable },
  );
  // The release it runs, recorded as a deploy records it: its manifest in the registry, its id on the cell.
  await Releases.registerManifest(release.manifest, { db: adminDocs, tableName: tenantsTable });
  await Cell.recordRelease(cellId, { releaseId: release.releaseId, previousReleaseId: null, since: new Date().toISOString() }, { db: adminDocs, tableName: cellsTable });
  const handle: LocalCellHandle = {
    cellId: definition.cellId,
    url: gateway.url,
    tableName,
    evidenceBucket: cellBucketName(definition.cellId),
    apiId: restApi.id,
    roles: { api: roles.api.arn, authorizer: roles.authorizer.arn, tenantAccess: roles.tenantAccess.arn },
    usagePlans,
    get functions() {
      return current;
    },
    get releaseId() {
      return releaseId;
    },
    deploy,
  };
  cells.push(handle);
  return handle;
}
