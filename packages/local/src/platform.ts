import { evidenceBucketOrigins, parseBrowserOrigin } from '@cellbook/core/access/browser-cors';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GateSettings } from '@cellbook/core/releases/release';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { cellRecordKey } from '@cellbook/core/keys/keys';
import * as Cell from '@cellbook/core/cells/cell';
import { parseTenantEvent, rulePattern } from '@cellbook/core/events/catalog';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import { CONTROL_IDENTITY_NAMES, controlIdentityOf, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { documentClient } from '@cellbook/core/shared/dynamo';
import type { CellDeployer, CellTelemetry } from '@cellbook/core/releases/ports';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import type { LocalApiGateway } from './aws/api-gateway.js';
import { cellbookTable } from './aws/cellbook-table.js';
import type { LocalCognito } from './aws/cognito-idp.js';
import type { DynamoDbCall } from './aws/dynamodb-endpoint.js';
import type { LocalEventBridge } from './aws/eventbridge.js';
import type { LocalIam } from './aws/local-iam.js';
import { LocalLogSubscriptions, type DeadLetteredLogBatch } from './aws/log-subscriptions.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, systemClock, type Clock, type RequestListener, type RoleSession } from './aws/types.js';
import { bundleFunctions, type FunctionCode } from './lambda/bundle.js';
import { FunctionHost, type InvocationRecord, type LogSink } from './lambda/function-host.js';
import { buildRelease, loadRelease, workingTreeCommit, type BuildReleaseOptions, type LocalRelease } from './release/build.js';
import { LocalCellTelemetry, localDeployer } from './release/telemetry.js';
import { startReleaseDriver } from './release/driver.js';

const RELEASE_DRIVER_WORKER = fileURLToPath(new URL('./release/driver-worker.ts', import.meta.url));
import { tenantAccessTrust } from './roles/cell-roles.js';
import { controlDrillRole, controlRoles } from './roles/control-roles.js';
import { platformAdminRole } from './roles/role-definition.js';
import { answerUnparseableRequest } from './router.js';
import { DATA_LAYOUT, startAwsServices, type DynamoDbEngine } from './platform/aws-services.js';
import { deployCell, type CellGrants } from './platform/cell-deployment.js';
import { startControlPlane } from './platform/control-plane.js';
import { close, listen } from './platform/listen.js';
import { PREFIX, STAGE } from './platform/naming.js';
import type { PlatformPorts, PortRequest } from './platform/ports.js';
import { localRouting } from './platform/routing.js';

/** Where `npm run build:web` puts the web app, which the router serves under `/app/`. */
const WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

export interface PlatformOptions {
  /** The router's port (DESIGN: 3000); 0 picks a free one. Same as `ports.router`, which it overrides. */
  port?: number;
  /**
   * Fixed ports for the other endpoints (`npm start`: platform/ports.ts `stablePorts`); any left out
   * takes a free one, as every test does. A port already taken fails the start with a `PortInUseError`.
   */
  ports?: PortRequest;
  /**
   * Where the platform keeps its state between runs (`npm start`: `.cellbook/data`): the tables, the
   * evidence objects, both user directories with their signing keys and refresh tokens, API keys and
   * usage plans, the bus's dead letters, the administrator's session. A start on the same directory
   * finds everything as the last run left it. Absent (every test): all in memory, nothing written.
   * Tokens issued before a restart verify after it only if the Cognito endpoint keeps its port
   * (the issuer names it): reuse `ports` too.
   */
  dataDir?: string;
  cells?: readonly Cell.CellDefinition[];
  operatorPassword?: string;
  /** Drives API Gateway's usage plans and authorizer cache, so tests can move time. */
  gatewayClock?: Clock;
  /** Drives the local Cognito (token times, temporary passwords, sign-in lockouts), so tests can move time. */
  identityClock?: Clock;
  authorizerCacheTtlSeconds?: number;
  /** Where function logs and gateway access logs go. */
  onLog?: LogSink;
  /** Load every function before serving (no cold start on the first request). */
  warm?: boolean;
  /**
   * The storage engine behind the IAM-enforcing DynamoDB endpoint: `dynalite` (in this process,
   * the default) or AWS's `dynamodb-local` (a JVM). Defaults to `CELLBOOK_DYNAMODB`.
   */
  dynamodb?: DynamoDbEngine;
  /**
   * Where the cells' releases are stored (`npm start` keeps them in the repository's `.cellbook/`);
   * a temporary directory, removed on stop, by default. The cells boot from a release of the
   * working tree built there at start.
   */
  releases?: { outRoot: string };
  /** A release's gate settings unless its request says otherwise (LOCAL_RELEASE_GATE by default). */
  releaseGate?: Partial<GateSettings>;
  /**
   * Run the release driver (DESIGN §9), which rolls out what `POST /admin/releases` starts, looking for
   * one every `pollMs`. `npm start` runs it; a test platform runs it only when it asks.
   */
  releaseDriver?: { pollMs?: number };
  /**
   * The log subscriptions' batching (aws/log-subscriptions.ts): a few lines, a few milliseconds by
   * default. A spec may make the linger long to show that `usageDelivered()` sends what waits.
   */
  logDelivery?: { batchSize?: number; lingerMs?: number };
  /**
   * Cells whose functions run with `METERING=off` (no usage lines): `bench:metering` compares a
   * metered cell with an unmetered one in one run. Every cell is metered by default, as in AWS.
   */
  meteringOffCells?: readonly string[];
  /**
   * Browser origins besides the router's own that may call the API and the evidence buckets (CORS);
   * none by default (`npm start`: `CELLBOOK_BROWSER_ORIGINS`, a comma-separated list).
   */
  browserOrigins?: readonly string[];
  /** The web app's build, served by the router under `/app/` (default `packages/web/dist`). */
  webRoot?: string;
}

/** The control identities `warm` loads before serving: the ones on the way to a first tenant request. */
const WARM_CONTROL_IDENTITIES: ReadonlySet<ControlIdentity> = new Set(['sign-in', 'onboarding', 'registry-read']);

export interface LocalCellHandle {
  cellId: string;
  url: string;
  tableName: string;
  /** The cell's evidence bucket (its objects reachable only through tenant sessions). */
  evidenceBucket: string;
  apiId: string;
  roles: { api: string; authorizer: string; tenantAccess: string };
  usagePlans: Record<TierName, string>;
  /** The cell's current function workers (data-plane functions, authorizer), for fault drills. */
  readonly functions: { api: FunctionHost; authorizer: FunctionHost };
  /** The release the cell runs. */
  readonly releaseId: string;
  /**
   * Swaps the cell's function bundles to `release` without failing a request (DESIGN §9): new
   * execution environments from its bundles, warmed, then the gateway switches to them and the
   * previous ones finish what they had accepted. Resolves once the previous ones have stopped.
   * A release the cell already runs is a no-op; deploys to one cell run one after the other.
   */
  deploy(release: LocalRelease): Promise<void>;
}

/** The local release store: builds of the cell functions, by content-addressed id. */
export interface LocalReleases {
  outRoot: string;
  /** Builds a release of the working tree (its commit by default; see `workingTreeCommit`). */
  build(options?: Partial<Omit<BuildReleaseOptions, 'outRoot'>>): Promise<LocalRelease>;
  /** A stored release, verified against its manifest. */
  load(releaseId: string): Promise<LocalRelease>;
}

export interface LocalPlatform {
  /** The router: the one URL clients use. */
  url: string;
  /** The port of every endpoint (pass it back as `ports` to start again on the same ones). */
  ports: PlatformPorts;
  /** Where the state is kept (`PlatformOptions.dataDir`); undefined when in memory. */
  dataDir: string | undefined;
  /**
   * The platform administrator's credentials (its role allows everything): what `.cellbook/aws-config`
   * hands the AWS CLI and scripts. Kept in the data directory, so they outlive a restart.
   */
  adminCredentials: RoleSession;
  controlPlaneUrl: string;
  cells: LocalCellHandle[];
  /** `dynamodbStorage` is the storage engine itself, without IAM: for diagnostics and benchmarks only. */
  endpoints: { dynamodb: string; dynamodbStorage: string; sts: string; cognito: string; apiGateway: string; eventBridge: string; s3: string };
  /**
   * The deployment's event bus: name, the stand-in (to add consumer rules), and the dead-letter
   * queue that receives events naming no tenant and deliveries that failed every retry.
   */
  eventBus: { name: string; arn: string; service: LocalEventBridge; deadLetterQueue: readonly DeadLetteredEvent[] };
  region: string;
  /** Which storage engine is behind the DynamoDB endpoint. */
  dynamodbEngine: DynamoDbEngine;
  iam: LocalIam;
  apiGateway: LocalApiGateway;
  /** The tenant directory: tenant users only. */
  cognito: LocalCognito;
  /** The operator directory (DESIGN §13): a pool of its own, which no function role can administer. */
  operatorCognito: LocalCognito;
  /**
   * The control plane's environment (endpoints, tables) with the credentials of the drill role,
   * which holds exactly the union of the control identities' grants: drills and benchmarks run
   * several identities' core code in-process with it. The role is created on first read (it
   * exists in no `npm start` that does not ask for it, and no function runs under it).
   */
  readonly controlPlaneEnv: Readonly<Record<string, string>>;
  /**
   * The environment a control handler's function runs with — its identity's role credentials
   * among them — as Lambda would show the function's configuration.
   */
  controlFunctionEnv(handler: string): Readonly<Record<string, string>>;
  /** Credentials of a role, as Lambda would hand them to a function. */
  sessionFor(roleArn: string): RoleSession;
  /**
   * Test control (fault drills; `npm start` never uses it): `interceptor` sees every DynamoDB call
   * the IAM layer has let through, just before it reaches the storage engine, and may hold it by
   * returning a promise. Returns the function that removes it.
   */
  interceptDynamoDb(interceptor: (call: DynamoDbCall) => void | Promise<void>): () => void;
  /** The cells' releases: the one they booted from and any built since. */
  releases: LocalReleases;
  /** The release orchestrator's ports over this platform: deploy to a cell, and each cell's own figures and alarms. */
  releaseAdapters: { deployer: CellDeployer; telemetry: CellTelemetry };
  /**
   * Resolves once every usage line and access log record logged so far has been delivered to the
   * control plane's metering intake by the cells' log subscriptions (or given up on after its
   * retries: see `logDeliveryFailures`). Tests wait on it instead of sleeping.
   */
  usageDelivered(): Promise<void>;
  /**
   * Test control: invokes a control handler's function as its trigger would (a log subscription
   * delivering a batch again, …), under its identity, and answers what it returned.
   */
  invokeControl(handler: string, event: unknown, timeoutMs?: number): Promise<unknown>;
  /** Log subscription batches that failed every delivery attempt (CloudWatch would keep them in the log; Lambda on its failure destination). */
  readonly logDeliveryFailures: readonly DeadLetteredLogBatch[];
  stop(): Promise<void>;
}

export interface DeadLetteredEvent {
  reason: 'no-tenant' | 'delivery-failed';
  event: unknown;
}

const FUNCTION_SESSION_SECONDS = 7 * 24 * 3600;
/** The administrator's session lives a month; a kept one with less than a day left is replaced at start. */
const ADMIN_SESSION_SECONDS = 30 * 24 * 3600;
const ADMIN_SESSION_MIN_LEFT_MS = 24 * 3600 * 1000;

/** The administrator's session an earlier run kept, if still good for a day, or a new one. */
function keptAdminSession(iam: LocalIam, adminArn: string, kept: RoleSession | undefined): RoleSession {
  if (kept && kept.roleArn === adminArn && kept.expiration - Date.now() > ADMIN_SESSION_MIN_LEFT_MS) {
    iam.adoptSession(kept);
    return kept;
  }
  return iam.issueRoleSession(adminArn, 'deployer', {}, ADMIN_SESSION_SECONDS);
}

function credentialEnv(session: RoleSession): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken,
  };
}

/**
 * Boots the whole product offline: the AWS stand-ins (IAM-enforcing DynamoDB over dynalite or DynamoDB Local, STS,
 * Cognito, API Gateway management), the control plane, one data plane per catalogued cell (own
 * table, own gateway, own function workers) and the router in front. Handlers run from the same
 * bundles a deploy ships, with the real SDK clients; only endpoints differ.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<LocalPlatform> {
  // Pooled cells boot with the platform; dedicated ones when placement requests them.
  const catalog = options.cells ?? Cell.CELL_CATALOG;
  const cellsToBoot = catalog.filter((cell) => cell.placement === 'pooled');
  const gatewayClock = options.gatewayClock ?? systemClock;
  // A misspelt origin would never match a browser's `Origin`: refuse it before anything starts.
  const browserOrigins = (options.browserOrigins ?? []).map(parseBrowserOrigin);
  const sink: LogSink = options.onLog ?? (() => undefined);
  const cleanups: (() => Promise<void>)[] = [];
  // CloudWatch Logs' subscription filters: each cell's usage lines and access log to the metering
  // intake (cells subscribe as they boot; deliveries go to the control plane once it runs).
  const logSubscriptions = new LocalLogSubscriptions({
    ...options.logDelivery,
    onDeadLetter: (batch) => sink(`${PREFIX}-log-subscriptions`, JSON.stringify({ level: 'ERROR', message: 'log delivery failed every attempt', ...batch })),
  });
  cleanups.push(() => logSubscriptions.stop());
  const onLog: LogSink = (source, line, stream) => {
    sink(source, line, stream);
    logSubscriptions.onLog(source, line, stream);
  };
  let controlInvoke: ((handler: string, event: unknown, timeoutMs: number) => Promise<unknown>) | undefined;
  const logSubscriber = (handler: string, timeoutSeconds: number) => async (event: unknown) => {
    if (!controlInvoke) throw new Error(`${handler} is not deployed yet`);
    return controlInvoke(handler, event, timeoutSeconds * 1000);
  };
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };

  try {
    // The cells run a release (content-addressed, verifiable, swappable); the control plane its own bundle.
    const releasesRoot = options.releases?.outRoot ?? (await mkdtemp(join(tmpdir(), 'cellbook-releases-')));
    if (!options.releases) cleanups.push(() => rm(releasesRoot, { recursive: true, force: true }));
    const [bootRelease, bundle] = await Promise.all([
      workingTreeCommit().then((commit) => buildRelease({ outRoot: releasesRoot, commit })),
      bundleFunctions(
        [
          ...CONTROL_ROUTES.map((r) => r.handler),
          OPERATOR_AUTHORIZER,
          ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler),
          ...CONTROL_SCHEDULES.map((job) => job.handler),
          ...LOG_SUBSCRIBERS.map((subscriber) => subscriber.handler),
        ],
        { extraEntries: { '__release-driver': RELEASE_DRIVER_WORKER } },
      ),
    ]);
    cleanups.push(() => rm(bundle.dir, { recursive: true, force: true }));
    const releases: LocalReleases = {
      outRoot: releasesRoot,
      build: async (buildOptions = {}) => buildRelease({ ...buildOptions, outRoot: releasesRoot, commit: buildOptions.commit ?? (await workingTreeCommit()) }),
      load: (releaseId) => loadRelease(releasesRoot, releaseId),
    };

    const {
      iam,
      dynamodbEngine,
      storage,
      interceptors,
      dynamodb,
      sts,
      s3,
      s3Server,
      cognitoServer,
      cognito,
      operatorCognito,
      apiGateway,
      apiGatewayServer,
      deadLetterQueue,
      eventBridge,
      eventBridgeServer,
      eventBus,
      serviceEnv,
      persisted,
      restored,
    } = await startAwsServices({ catalog, options, gatewayClock, cleanups });

    // "Deploy": roles, tables, usage plans, the cell catalog.
    const tenantsTable = `${PREFIX}-tenants`;
    const cellsTable = `${PREFIX}-cells`;
    const usageTable = `${PREFIX}-usage`;
    const cellTable = (cellId: string) => `${PREFIX}-${cellId}`;
    const admin = iam.createRole(platformAdminRole(PREFIX));
    const adminSession = keptAdminSession(iam, admin.arn, restored<{ adminSession?: RoleSession }>(DATA_LAYOUT.iam)?.adminSession);
    persisted(DATA_LAYOUT.iam, () => ({ adminSession }))?.changed();
    const adminCredentials = {
      accessKeyId: adminSession.accessKeyId,
      secretAccessKey: adminSession.secretAccessKey,
      sessionToken: adminSession.sessionToken,
    };
    const adminDynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamodb.url, credentials: adminCredentials });
    const adminDocs = documentClient({ region: LOCAL_REGION, endpoint: dynamodb.url, credentials: adminCredentials });
    cleanups.push(async () => adminDynamo.destroy());

    // A table kept in the data directory exists already: the deploy step leaves it as it is.
    const createTable = (TableName: string, listingIndex: boolean) =>
      adminDynamo.send(new CreateTableCommand(cellbookTable(TableName, { listingIndex }))).catch((error: unknown) => {
        if (!(error instanceof ResourceInUseException)) throw error;
      });
    await createTable(tenantsTable, true);
    await createTable(cellsTable, false);
    // The usage ledger (DESIGN §10): keyed PK/SK, every tenant's rows of a period by GSI1.
    await createTable(usageTable, true);

    // The control plane's API exists before the cells: their tenant sessions may invoke its identity
    // broker (the tenant access role's policy names the API), and their functions call it.
    // Looked up first: a kept gateway has it already, under the id its saved references name.
    const controlApi = apiGateway.restApiNamed(`${PREFIX}-control`) ?? apiGateway.createRestApi(`${PREFIX}-control`);
    const controlApiStageArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${controlApi.id}/${STAGE}`;
    let controlListener: RequestListener = (_req, res) => res.writeHead(503).end();
    const controlGateway = await listen((req, res) => controlListener(req, res), options.ports?.controlPlane, 'control plane API');
    cleanups.push(() => close(controlGateway.server));

    const hosts: FunctionHost[] = [];
    cleanups.push(async () => {
      await Promise.all(hosts.map((host) => host.stop()));
    });
    const functionEnvs = new Map<string, Readonly<Record<string, string>>>();
    /** A function group running under the (existing) role `roleArn`: Lambda hands each its execution role's session. */
    const host = (
      group: string,
      roleArn: string,
      handlers: string[],
      env: Record<string, string>,
      hostOptions: { code?: FunctionCode; onInvocation?: (record: InvocationRecord) => void } = {},
    ) => {
      const session = iam.issueRoleSession(roleArn, group, {}, FUNCTION_SESSION_SECONDS);
      const code = hostOptions.code ?? bundle;
      const functions: Record<string, string> = {};
      for (const name of handlers) {
        const path = code.functions[name];
        if (!path) throw new Error(`${group}: no function ${name} in its build`);
        functions[name] = path;
      }
      const functionEnv = { ...serviceEnv, ...env, ...credentialEnv(session), AWS_LAMBDA_FUNCTION_NAME: group };
      functionEnvs.set(group, functionEnv);
      const functionHost = new FunctionHost({
        group,
        workerHost: code.workerHost,
        functions,
        env: functionEnv,
        onLog,
        ...(hostOptions.onInvocation ? { onInvocation: hostOptions.onInvocation } : {}),
      });
      hosts.push(functionHost);
      return functionHost;
    };

    // The control identities' roles exist before the cells: each cell grants them what they may do
    // in it, and its tenant access role trusts some of them (as each Cell stack does in AWS).
    const control = controlRoles({ prefix: PREFIX, stage: STAGE, tenantsTable, cellsTable, usageTable, userPoolArn: cognito.userPoolArn, eventBusArn: eventBus.arn });
    for (const identity of CONTROL_IDENTITY_NAMES) iam.createRole(control[identity]);
    /** Each booted cell's grants to the control identities, and its tenant access role (for the drill role, once asked for). */
    const cellGrants: CellGrants[] = [];
    let drillRoleArn: string | undefined;
    /** The drill role gets one cell's grants, and that cell's tenant access role trusts it as it trusts the control identities. */
    const grantDrills = (drills: string, cell: (typeof cellGrants)[number]) => {
      for (const policy of cell.policies) iam.putRolePolicy(drills, `${cell.cellId}-${policy.identity}`, policy.document);
      iam.updateAssumeRolePolicy(cell.tenantAccessArn, tenantAccessTrust({ prefix: PREFIX, cellId: cell.cellId, drillRoleArn: drills }));
    };

    const cells: LocalCellHandle[] = [];
    /** The router's origins once it listens (after the first cells boot): the buckets' CORS origins. */
    let routerOrigins: readonly string[] = [];
    const telemetry = new LocalCellTelemetry({ isCell: (cellId) => cells.some((cell) => cell.cellId === cellId) });
    const cellServers = new Map<string, string>();
    const booting = new Map<string, Promise<LocalCellHandle>>();
    /** "Deploys" one cell: its table, roles, functions, API with usage plans, and its registration. */
    const bootCell = (definition: Cell.CellDefinition): Promise<LocalCellHandle> => {
      let boot = booting.get(definition.cellId);
      if (!boot) {
        // A failed boot is forgotten, so the next request for the cell tries again.
        boot = deployCellFromCatalog(definition).catch((error: unknown) => {
          booting.delete(definition.cellId);
          throw error;
        });
        booting.set(definition.cellId, boot);
      }
      return boot;
    };
    const deployCellFromCatalog = (definition: Cell.CellDefinition): Promise<LocalCellHandle> =>
      deployCell(definition, {
        options,
        iam,
        host,
        apiGateway,
        adminDocs,
        createTable,
        // The web app (served by the router) uploads to presigned URLs: its origin may call the bucket.
        createBucket: (bucketName) => s3.createBucket(bucketName, { corsOrigins: () => evidenceBucketOrigins(routerOrigins, browserOrigins) }),
        cellTable,
        tenantsTable,
        cellsTable,
        controlApiStageArn,
        controlPlaneUrl: controlGateway.url,
        gatewayClock,
        onLog,
        subscribeLogs: (subscription) => logSubscriptions.subscribe({ ...subscription, deliver: logSubscriber(subscription.handler, subscription.timeoutSeconds) }),
        cleanups,
        onGrants: (grants) => {
          cellGrants.push(grants);
          if (drillRoleArn) grantDrills(drillRoleArn, grants);
        },
        cellServers,
        cells,
        release: bootRelease,
        telemetry,
      });
    for (const definition of cellsToBoot) await bootCell(definition);
    // Dedicated cells deployed in an earlier run (kept in the registry) are deployed again with the
    // platform, as their stacks would still stand in AWS: their tenants are there.
    for (const definition of catalog.filter((cell) => cell.placement !== 'pooled')) {
      const { Item } = await adminDocs.send(new GetCommand({ TableName: cellsTable, Key: cellRecordKey(definition.cellId), ConsistentRead: true }));
      if (Item?.apiId !== undefined) await bootCell(definition);
    }
    // Dedicated cells are created when placement asks for one (`CellRequested`), as a deploy
    // pipeline would create their stacks in AWS.
    eventBridge.putRule({
      name: `${PREFIX}-cell-provisioner`,
      eventBusName: eventBus.name,
      eventPattern: rulePattern('CellRequested'),
      targets: [
        {
          id: 'local-cell-provisioner',
          deliver: async (event) => {
            const { cellId } = parseTenantEvent('CellRequested', event).data;
            const definition = catalog.find((candidate) => candidate.cellId === cellId);
            if (!definition) throw new Error(`CellRequested for ${String(cellId)}, which is not in the catalog`);
            const cell = await bootCell(definition);
            if (options.warm) await Promise.all([cell.functions.api.warm(), cell.functions.authorizer.warm()]);
          },
        },
      ],
    });

    // The router listens before the control plane starts: onboarding and moves check routes through it.
    let routerListener: RequestListener = (_req, res) => res.writeHead(503).end();
    const router = await listen((req, res) => routerListener(req, res), options.port ?? options.ports?.router ?? 0, 'router');
    // Browsers reach it as localhost or as 127.0.0.1: two origins.
    const routerPort = new URL(router.url).port;
    routerOrigins = [`http://localhost:${routerPort}`, `http://127.0.0.1:${routerPort}`];
    router.server.on('clientError', answerUnparseableRequest);
    cleanups.push(() => close(router.server));

    const {
      controlEnv,
      controlHosts,
      listener: controlPlaneListener,
    } = startControlPlane({
      options,
      iam,
      host,
      control,
      tenantsTable,
      cellsTable,
      usageTable,
      operatorCognito,
      routerUrl: router.url,
      eventBridge,
      eventBusName: eventBus.name,
      apiGateway,
      controlApiId: controlApi.id,
      gatewayClock,
      onLog,
      cleanups,
    });
    controlListener = controlPlaneListener;
    controlInvoke = (handler, event, timeoutMs) => controlHosts[controlIdentityOf(handler)].invoke(handler, event, timeoutMs);
    // Local only (DESIGN §5): the operator's password may be the simple default, so no pool policy applies.
    // A kept directory has the operator already: the password is still the one this start was given.
    const operatorPassword = options.operatorPassword ?? 'operator';
    if (operatorCognito.hasUser('operator')) await operatorCognito.setPassword('operator', operatorPassword, { skipPasswordPolicy: true });
    else await operatorCognito.createUser({ username: 'operator', password: operatorPassword, groups: ['operator'], skipPasswordPolicy: true });

    routerListener = localRouting({
      adminDocs,
      tenantsTable,
      eventBridge,
      eventBusName: eventBus.name,
      controlPlaneUrl: controlGateway.url,
      cellUrls: cellServers,
      defaultCellId: cells[0]!.cellId,
      web: { browserOrigins: () => browserOrigins, webRoot: options.webRoot ?? WEB_DIST, evidenceOrigins: () => [new URL(s3Server.url).origin] },
    });

    const deployer = localDeployer(() => cells, releases.load);
    if (options.releaseDriver) {
      const session = iam.issueRoleSession(control['release-driver'].arn, 'release-driver', {}, FUNCTION_SESSION_SECONDS);
      const driver = startReleaseDriver({
        script: join(bundle.dir, '__release-driver.mjs'),
        env: { ...serviceEnv, ...controlEnv, ROUTER_URL: router.url, ...credentialEnv(session), AWS_LAMBDA_FUNCTION_NAME: `${PREFIX}-control-release-driver` },
        data: { pollMs: options.releaseDriver.pollMs ?? 1_000, routerUrl: router.url },
        deployer,
        telemetry,
        onLog,
        group: `${PREFIX}-control-release-driver`,
      });
      cleanups.push(() => driver.stop());
    }

    if (options.warm) {
      // The request path warm (cells, sign-in, the operator authorizer, onboarding, operator reads);
      // the other control identities serve rare, asynchronous or operator-paced work and start cold
      // on their first invocation, as Lambda would: warming each of them is a second of CPU and an
      // SDK's worth of memory at every boot for functions most runs never call.
      const coldUntilUsed = new Set(CONTROL_IDENTITY_NAMES.filter((identity) => !WARM_CONTROL_IDENTITIES.has(identity)).map((identity) => controlHosts[identity]));
      await Promise.all(hosts.filter((functionHost) => !coldUntilUsed.has(functionHost)).map((functionHost) => functionHost.warm()));
    }

    // The drill role (roles/control-roles.ts), made on first use: every identity's grants, every booted cell's
    // grants, and the tenant access roles' trust, as the control identities have them.
    let drillEnv: Readonly<Record<string, string>> | undefined;
    const createDrillEnv = (): Readonly<Record<string, string>> => {
      const drills = iam.createRole(controlDrillRole(PREFIX, control)).arn;
      drillRoleArn = drills;
      for (const cell of cellGrants) grantDrills(drills, cell);
      const session = iam.issueRoleSession(drills, 'drills', {}, FUNCTION_SESSION_SECONDS);
      return { ...serviceEnv, ...controlEnv, ROUTER_URL: router.url, ...credentialEnv(session), AWS_LAMBDA_FUNCTION_NAME: `${PREFIX}-control-drills` };
    };

    const portOf = (url: string) => Number(new URL(url).port);
    return {
      url: router.url,
      get ports(): PlatformPorts {
        return {
          router: portOf(router.url),
          controlPlane: portOf(controlGateway.url),
          dynamodb: portOf(dynamodb.url),
          sts: portOf(sts.url),
          s3: portOf(s3Server.url),
          cognito: portOf(cognitoServer.url),
          apiGateway: portOf(apiGatewayServer.url),
          eventBridge: portOf(eventBridgeServer.url),
          // Dedicated cells boot later: read when asked.
          cells: Object.fromEntries(cells.map((cell) => [cell.cellId, portOf(cell.url)])),
        };
      },
      dataDir: options.dataDir,
      adminCredentials: adminSession,
      controlPlaneUrl: controlGateway.url,
      cells,
      endpoints: {
        dynamodb: dynamodb.url,
        dynamodbStorage: storage.url,
        sts: sts.url,
        s3: s3Server.url,
        cognito: cognitoServer.url,
        apiGateway: apiGatewayServer.url,
        eventBridge: eventBridgeServer.url,
      },
      eventBus: { ...eventBus, service: eventBridge, deadLetterQueue },
      region: LOCAL_REGION,
      dynamodbEngine,
      iam,
      apiGateway,
      cognito,
      operatorCognito,
      get controlPlaneEnv() {
        drillEnv ??= createDrillEnv();
        return drillEnv;
      },
      controlFunctionEnv: (handler) => functionEnvs.get(`${PREFIX}-control-${controlIdentityOf(handler)}`)!,
      sessionFor: (arn) => iam.issueRoleSession(arn, 'test', {}, 3600),
      interceptDynamoDb(interceptor) {
        interceptors.add(interceptor);
        return () => void interceptors.delete(interceptor);
      },
      releases,
      releaseAdapters: { deployer, telemetry },
      async usageDelivered() {
        // Worker output and invocation results travel apart: first every line written so far is read.
        await Promise.all(hosts.map((functionHost) => functionHost.flushLogs()));
        await logSubscriptions.delivered();
      },
      logDeliveryFailures: logSubscriptions.deadLetters,
      invokeControl: (handler, event, timeoutMs = 30_000) => controlHosts[controlIdentityOf(handler)].invoke(handler, event, timeoutMs),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
