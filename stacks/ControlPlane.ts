import { Tags } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import type { StackContext } from 'sst/constructs';
import { suppressSstInternals, XRAY_WILDCARD } from './constructs/nag.js';
import { apiGatewayAccount } from './control-plane/api-gateway-account.js';
import { controlIdentities } from './control-plane/control-identities.js';
import { eventBus } from './control-plane/event-bus.js';
import { controlEventConsumers } from './control-plane/event-consumers.js';
import { operatorApi } from './control-plane/operator-api.js';
import { registryTables } from './control-plane/registry-tables.js';
import { releases } from './control-plane/releases.js';
import { addRoutingMap } from './control-plane/routing-map.js';
import { controlScheduledJobs } from './control-plane/scheduled-jobs.js';
import { logSubscribers } from './control-plane/usage-ingest.js';
import { userDirectories } from './control-plane/user-directories.js';

/**
 * The shared control plane (DESIGN §1): tenant registry and cell catalog, the user directories, the
 * event bus, the routing map the router reads, one identity per duty, the functions the bus and the
 * clock run, and the operator API. It is never on a tenant user's request path.
 */
export function ControlPlane({ app, stack }: StackContext) {
  Tags.of(stack).add('app', app.name);
  Tags.of(stack).add('stage', app.stage);
  Tags.of(stack).add('plane', 'control');
  suppressSstInternals(stack);

  const { tenantsTable, cellsTable, usageTable } = registryTables(stack, app);
  const directories = userDirectories(stack, app);
  const { bus, deadLetters } = eventBus(stack, app);
  const routingMap = addRoutingMap(stack, app, { bus, deadLetters, tenantsTable });
  const identities = controlIdentities(stack, app, {
    tenantsTable,
    cellsTable,
    usageTable,
    userPool: directories.userPool,
    bus,
    // Sign-in (POST /auth/token) tries the operator directory after the tenant one.
    identityEnvironment: { ...directories.identityEnvironment, ...directories.operatorIdentityEnvironment },
  });
  const consumers = controlEventConsumers(stack, { bus, deadLetters, identities });
  const scheduledJobs = controlScheduledJobs(stack, { deadLetters, identities });
  const subscribers = logSubscribers(stack, { deadLetters, identities });
  const { bucket: releaseBucket } = releases(stack, app, { deadLetters, identities });
  const { api, restApi } = operatorApi(stack, app, { identities, operatorIdentityEnvironment: directories.operatorIdentityEnvironment });
  apiGatewayAccount(stack, restApi);
  // Every duty's functions exist by now, each traced: its role holds X-Ray's wildcard grant.
  for (const role of Object.values(identities.roles)) NagSuppressions.addResourceSuppressions(role, [XRAY_WILDCARD], true);

  stack.addOutputs({
    ControlApiUrl: api.url,
    UserPoolId: directories.userPool.userPoolId,
    UserPoolClientId: directories.userPoolClient.userPoolClientId,
    OperatorPoolId: directories.operatorPool.userPoolId,
    OperatorPoolClientId: directories.operatorPoolClient.userPoolClientId,
    TenantsTable: tenantsTable.tableName,
    CellsTable: cellsTable.tableName,
    UsageTable: usageTable.tableName,
    EventBusName: bus.eventBusName,
    RoutingMapArn: routingMap.keyValueStoreArn,
    ReleaseBucketName: releaseBucket.bucketName,
  });

  return {
    tenantsTable,
    cellsTable,
    usageTable,
    userPool: directories.userPool,
    userPoolClient: directories.userPoolClient,
    operatorPool: directories.operatorPool,
    identityEnvironment: directories.identityEnvironment,
    /** Each control identity's role: the Cell stacks grant them what they may do in each cell. */
    controlRoles: identities.roles,
    bus,
    routingMap,
    api,
    consumers,
    scheduledJobs,
    releaseBucket,
    /** The functions each Cell stack delivers its usage logs to, by handler (LOG_SUBSCRIBERS). */
    logSubscribers: subscribers,
  };
}
