/**
 * The AWS stand-ins the platform boots first: IAM with STS, the IAM-enforcing DynamoDB endpoint over
 * dynalite or DynamoDB Local, the two Cognito user pools behind one endpoint, API Gateway's management
 * API and EventBridge with the platform's bus; and the environment that points every SDK client at them.
 */
import type * as Cell from '@cellbook/core/cells/cell';
import * as Events from '@cellbook/core/events/events';
import { createLocalApiGateway } from '../aws/api-gateway.js';
import { createCognitoService, createLocalCognito } from '../aws/cognito-idp.js';
import { createDynamoDbEndpoint, startLocalDynamo, type DynamoDbCall } from '../aws/dynamodb-endpoint.js';
import { startDynamoDbLocal } from '../aws/dynamodb-local.js';
import { createLocalEventBridge } from '../aws/eventbridge.js';
import { LocalIam } from '../aws/local-iam.js';
import { createLocalS3 } from '../aws/s3-endpoint.js';
import { MemoryObjectStore } from '../aws/s3-storage.js';
import { createStsEndpoint } from '../aws/sts-endpoint.js';
import { LOCAL_REGION, type Clock, type RequestListener } from '../aws/types.js';
import type { DeadLetteredEvent, PlatformOptions } from '../platform.js';
import { close, listen } from './listen.js';
import { PREFIX } from './naming.js';

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

export async function startAwsServices({ catalog, options, gatewayClock, cleanups }: AwsServicesInput) {
  // A signature for any region the catalog names is accepted, as that region's endpoint would.
  const iam = new LocalIam({ regions: catalog.map((cell) => cell.region) });
  const dynamodbEngine = options.dynamodb ?? dynamoDbEngineFromEnv();
  const storage = dynamodbEngine === 'dynamodb-local' ? await startDynamoDbLocal() : await startLocalDynamo();
  cleanups.push(() => storage.close());
  const interceptors = new Set<(call: DynamoDbCall) => void | Promise<void>>();
  const beforeStorage = async (call: DynamoDbCall) => {
    for (const interceptor of [...interceptors]) await interceptor(call);
  };
  const dynamodb = await listen(createDynamoDbEndpoint({ iam, upstream: storage.url, beforeStorage, emulateTransactions: dynamodbEngine === 'dynalite' }));
  cleanups.push(() => close(dynamodb.server));
  const sts = await listen(createStsEndpoint(iam));
  cleanups.push(() => close(sts.server));
  // The cells' evidence buckets (DESIGN §11), behind the same IAM as the table; in memory for now.
  const s3 = createLocalS3({ iam, store: new MemoryObjectStore() });
  const s3Server = await listen(s3.listener);
  cleanups.push(() => close(s3Server.server));
  let cognitoListener: RequestListener = (_req, res) => res.writeHead(503).end();
  const cognitoServer = await listen((req, res) => cognitoListener(req, res));
  cleanups.push(() => close(cognitoServer.server));
  const cognito = await createLocalCognito({
    userPoolId: USER_POOL_ID,
    clientId: USER_POOL_CLIENT_ID,
    issuerBaseUrl: cognitoServer.url,
    authenticate: iam.authenticate,
    authorize: iam.authorize,
    groups: ['admin', 'user'],
    customAttributes: ['tenant_id'],
    ...(options.identityClock ? { now: options.identityClock } : {}),
  });
  // Operators in a directory of their own: no tenant attribute, one group, its own keys and issuer.
  const operatorCognito = await createLocalCognito({
    userPoolId: OPERATOR_POOL_ID,
    clientId: OPERATOR_POOL_CLIENT_ID,
    issuerBaseUrl: cognitoServer.url,
    authenticate: iam.authenticate,
    authorize: iam.authorize,
    groups: ['operator'],
    customAttributes: [],
    immutableAttributes: [],
    ...(options.identityClock ? { now: options.identityClock } : {}),
  });
  cognitoListener = createCognitoService([cognito, operatorCognito]);
  const apiGateway = createLocalApiGateway({ authenticate: iam.authenticate, authorize: iam.authorize, now: gatewayClock });
  const apiGatewayServer = await listen(apiGateway.listener);
  cleanups.push(() => close(apiGatewayServer.server));

  const deadLetterQueue: DeadLetteredEvent[] = [];
  const eventBridge = createLocalEventBridge({
    authenticate: iam.authenticate,
    authorize: iam.authorize,
    onDeadLetter: (entry) => void deadLetterQueue.push({ reason: 'delivery-failed', event: entry.event }),
  });
  const eventBridgeServer = await listen(eventBridge.listener);
  cleanups.push(() => close(eventBridgeServer.server));
  cleanups.push(() => eventBridge.drain().catch(() => undefined));
  const eventBus = eventBridge.createEventBus(PREFIX);
  eventBridge.putRule({
    name: `${PREFIX}-tenantless-events`,
    eventBusName: eventBus.name,
    eventPattern: Events.TENANTLESS_EVENTS_PATTERN,
    targets: [{ id: 'dead-letter-queue', deliver: async (event) => void deadLetterQueue.push({ reason: 'no-tenant', event }) }],
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
  };
}
