/**
 * The AWS stand-ins the platform boots first: IAM with STS, the IAM-enforcing DynamoDB endpoint over
 * dynalite or DynamoDB Local, the two Cognito user pools behind one endpoint, API Gateway's management
 * API and EventBridge with the platform's bus; and the environment that points every SDK client at them.
 */
import type * as Cell from '@cellbook/core/cells/cell';
import * as Events from '@cellbook/core/events/events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalApiGateway, type ApiGatewaySnapshot } from '../aws/api-gateway.js';
import { createCognitoService, createLocalCognito, type CognitoSnapshot, type LocalCognito } from '../aws/cognito-idp.js';
import { createDynamoDbEndpoint, startLocalDynamo, type DynamoDbCall } from '../aws/dynamodb-endpoint.js';
import { startDynamoDbLocal } from '../aws/dynamodb-local.js';
import { createLocalEventBridge } from '../aws/eventbridge.js';
import { LocalIam } from '../aws/local-iam.js';
import { createLocalS3 } from '../aws/s3-endpoint.js';
import { DiskObjectStore } from '../aws/s3-disk-storage.js';
import { MemoryObjectStore } from '../aws/s3-storage.js';
import { createStsEndpoint } from '../aws/sts-endpoint.js';
import { LOCAL_REGION, type Clock, type RequestListener } from '../aws/types.js';
import type { DeadLetteredEvent, PlatformOptions } from '../platform.js';
import { close, listen } from './listen.js';
import { PREFIX } from './naming.js';
import { claimDataDir, PRIVATE_DIR_MODE, readSnapshot, snapshotWriter, type SnapshotWriter } from './persistence.js';

export const USER_POOL_ID = `${LOCAL_REGION}_CellbookLocal`;
export const USER_POOL_CLIENT_ID = 'cellbooklocalclient0000000';
export const OPERATOR_POOL_ID = `${LOCAL_REGION}_CellbookOperators`;
export const OPERATOR_POOL_CLIENT_ID = 'cellbookoperatorclient0000';

export type DynamoDbEngine = 'dynalite' | 'dynamodb-local';

/** The storage engine `CELLBOOK_DYNAMODB` names (dynalite when unset). */
export function dynamoDbEngineFromEnv(value = process.env.CELLBOOK_DYNAMODB): DynamoDbEngine {
  if (value === undefined || value === '' || value === 'dynalite') return 'dynalite';
  if (value === 'dynamodb-local') return 'dynamodb-local';
  throw new Error(`CELLBOOK_DYNAMODB must be "dynalite" or "dynamodb-local", not "${value}"`);
}

export interface AwsServicesInput {
  catalog: readonly Cell.CellDefinition[];
  options: PlatformOptions;
  gatewayClock: Clock;
  /** Where each service registers how it stops; the platform runs them in reverse. */
  cleanups: (() => Promise<void>)[];
}

/**
 * Where each stand-in keeps its state under `PlatformOptions.dataDir` (README: "Local data"): the
 * tables in the storage engine's own files, the evidence objects one file each, the rest as JSON
 * snapshots.
 */
export const DATA_LAYOUT = {
  dynalite: 'dynamodb',
  dynamodbLocal: 'dynamodb-local',
  objects: 's3',
  cognito: (poolId: string) => `cognito-${poolId}.json`,
  apiGateway: 'api-gateway.json',
  deadLetters: 'eventbridge-dead-letters.json',
  iam: 'iam.json',
} as const;

/** `path`, created if need be: DynamoDB Local's -dbPath must exist (dynalite's LevelDB creates its own). */
function existingDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  return path;
}

export async function startAwsServices({ catalog, options, gatewayClock, cleanups }: AwsServicesInput) {
  const { dataDir } = options;
  const ports = options.ports ?? {};
  // One platform per data directory: pushed first, so the claim is released after everything else has stopped.
  if (dataDir !== undefined) cleanups.push(claimDataDir(dataDir));
  /** The snapshots to write once more when the platform stops (after every server has closed). */
  const snapshots: SnapshotWriter[] = [];
  const persisted = <T>(file: string, snapshot: () => T): SnapshotWriter | undefined => {
    if (dataDir === undefined) return undefined;
    const writer = snapshotWriter(join(dataDir, file), snapshot, { onError: (error) => console.error(`cellbook: could not save ${file}:`, error) });
    snapshots.push(writer);
    return writer;
  };
  // Registered first, so it runs last: every stand-in has stopped changing by then.
  cleanups.push(async () => {
    await Promise.all(snapshots.map((writer) => writer.flush()));
  });
  const restored = <T>(file: string): T | undefined => (dataDir === undefined ? undefined : readSnapshot<T>(join(dataDir, file)));

  // A signature for any region the catalog names is accepted, as that region's endpoint would.
  const iam = new LocalIam({ regions: catalog.map((cell) => cell.region) });
  const dynamodbEngine = options.dynamodb ?? dynamoDbEngineFromEnv();
  // dynalite keeps its tables in LevelDB under the data directory; DynamoDB Local in its own files.
  const storage =
    dynamodbEngine === 'dynamodb-local'
      ? await startDynamoDbLocal(dataDir === undefined ? {} : { dataDir: existingDir(join(dataDir, DATA_LAYOUT.dynamodbLocal)) })
      : await startLocalDynamo(dataDir === undefined ? {} : { dataDir: join(dataDir, DATA_LAYOUT.dynalite) });
  cleanups.push(() => storage.close());
  const interceptors = new Set<(call: DynamoDbCall) => void | Promise<void>>();
  const beforeStorage = async (call: DynamoDbCall) => {
    for (const interceptor of [...interceptors]) await interceptor(call);
  };
  const dynamodb = await listen(
    createDynamoDbEndpoint({ iam, upstream: storage.url, beforeStorage, emulateTransactions: dynamodbEngine === 'dynalite' }),
    ports.dynamodb,
    'DynamoDB',
  );
  cleanups.push(() => close(dynamodb.server));
  const sts = await listen(createStsEndpoint(iam), ports.sts, 'STS');
  cleanups.push(() => close(sts.server));
  // The cells' evidence buckets (DESIGN §11), behind the same IAM as the table: on disk with a data directory.
  const objectStore = dataDir === undefined ? new MemoryObjectStore() : await DiskObjectStore.open(join(dataDir, DATA_LAYOUT.objects));
  const s3 = createLocalS3({ iam, store: objectStore });
  const s3Server = await listen(s3.listener, ports.s3, 'S3');
  cleanups.push(() => close(s3Server.server));
  let cognitoListener: RequestListener = (_req, res) => res.writeHead(503).end();
  const cognitoServer = await listen((req, res) => cognitoListener(req, res), ports.cognito, 'Cognito');
  cleanups.push(() => close(cognitoServer.server));
  /** A pool kept between runs: its snapshot restored, and saved after each change (the call that made it answers once saved). */
  const poolPersistence = (poolId: string): { restore?: CognitoSnapshot; onChange?: () => Promise<void>; bind(pool: LocalCognito): LocalCognito } => {
    const file = DATA_LAYOUT.cognito(poolId);
    const restore = restored<CognitoSnapshot>(file);
    let pool: LocalCognito | undefined;
    const writer = persisted(file, () => pool!.snapshot());
    return {
      ...(restore ? { restore } : {}),
      ...(writer ? { onChange: () => writer.changed() } : {}),
      bind(created) {
        pool = created;
        // A new pool's signing key is saved at once: tokens it signs must verify after a crash too.
        void writer?.changed();
        return created;
      },
    };
  };
  const tenantPool = poolPersistence(USER_POOL_ID);
  const operatorPool = poolPersistence(OPERATOR_POOL_ID);
  const cognito = tenantPool.bind(
    await createLocalCognito({
      userPoolId: USER_POOL_ID,
      clientId: USER_POOL_CLIENT_ID,
      issuerBaseUrl: cognitoServer.url,
      authenticate: iam.authenticate,
      authorize: iam.authorize,
      groups: ['admin', 'user'],
      customAttributes: ['tenant_id'],
      ...(options.identityClock ? { now: options.identityClock } : {}),
      ...(tenantPool.restore ? { restore: tenantPool.restore } : {}),
      ...(tenantPool.onChange ? { onChange: tenantPool.onChange } : {}),
    }),
  );
  // Operators in a directory of their own: no tenant attribute, one group, its own keys and issuer.
  const operatorCognito = operatorPool.bind(
    await createLocalCognito({
      userPoolId: OPERATOR_POOL_ID,
      clientId: OPERATOR_POOL_CLIENT_ID,
      issuerBaseUrl: cognitoServer.url,
      authenticate: iam.authenticate,
      authorize: iam.authorize,
      groups: ['operator'],
      customAttributes: [],
      immutableAttributes: [],
      ...(options.identityClock ? { now: options.identityClock } : {}),
      ...(operatorPool.restore ? { restore: operatorPool.restore } : {}),
      ...(operatorPool.onChange ? { onChange: operatorPool.onChange } : {}),
    }),
  );
  cognitoListener = createCognitoService([cognito, operatorCognito]);
  const gatewayRestore = restored<ApiGatewaySnapshot>(DATA_LAYOUT.apiGateway);
  const gatewayWriter = persisted(DATA_LAYOUT.apiGateway, () => apiGateway.snapshot());
  const apiGateway = createLocalApiGateway({
    authenticate: iam.authenticate,
    authorize: iam.authorize,
    now: gatewayClock,
    ...(gatewayRestore ? { restore: gatewayRestore } : {}),
    ...(gatewayWriter ? { onChange: () => gatewayWriter.changed(), onCount: () => gatewayWriter.changedSoon() } : {}),
  });
  const apiGatewayServer = await listen(apiGateway.listener, ports.apiGateway, 'API Gateway');
  cleanups.push(() => close(apiGatewayServer.server));

  const deadLetterQueue: DeadLetteredEvent[] = restored<DeadLetteredEvent[]>(DATA_LAYOUT.deadLetters) ?? [];
  const deadLetterWriter = persisted(DATA_LAYOUT.deadLetters, () => deadLetterQueue);
  const deadLetter = (entry: DeadLetteredEvent) => {
    deadLetterQueue.push(entry);
    void deadLetterWriter?.changed();
  };
  const eventBridge = createLocalEventBridge({
    authenticate: iam.authenticate,
    authorize: iam.authorize,
    onDeadLetter: (entry) => deadLetter({ reason: 'delivery-failed', event: entry.event }),
  });
  const eventBridgeServer = await listen(eventBridge.listener, ports.eventBridge, 'EventBridge');
  cleanups.push(() => close(eventBridgeServer.server));
  cleanups.push(() => eventBridge.drain().catch(() => undefined));
  const eventBus = eventBridge.createEventBus(PREFIX);
  eventBridge.putRule({
    name: `${PREFIX}-tenantless-events`,
    eventBusName: eventBus.name,
    eventPattern: Events.TENANTLESS_EVENTS_PATTERN,
    targets: [{ id: 'dead-letter-queue', deliver: async (event) => deadLetter({ reason: 'no-tenant', event }) }],
  });

  const serviceEnv: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_S3: s3Server.url,
    AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: cognitoServer.url,
    AWS_ENDPOINT_URL_API_GATEWAY: apiGatewayServer.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridgeServer.url,
    EVENT_BUS_NAME: eventBus.name,
    POWERTOOLS_SERVICE_NAME: 'cellbook',
    POWERTOOLS_METRICS_NAMESPACE: 'Cellbook',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    USER_POOL_ID,
    USER_POOL_CLIENT_ID,
    JWT_ISSUER: cognito.issuer,
    NODE_ENV: 'production',
    // Lambda runs Node 22; the SDK's Node 20 deprecation notice (README) would repeat per worker.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };

  return {
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
    /** Reads and saves the platform's own small state (the administrator's session) beside the stand-ins'. */
    persisted,
    restored,
  };
}
