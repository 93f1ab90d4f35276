import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { App, Stack } from 'sst/constructs';
import { CONTROL_IDENTITY_NAMES, ROUTER_PROBING_IDENTITIES, USAGE_LEDGER_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { functionRole } from '../constructs/functions.js';
import { routerUrlParameterArn, routerUrlParameterName } from '../constructs/router-url.js';

/**
 * The role of each control identity (core's CONTROL_IDENTITIES maps every handler to one; a
 * handler missing there fails the synth, so a new route or consumer cannot ship with a borrowed,
 * and therefore too broad, role). What each role may do is core's `controlIdentityStatements`.
 */
export const CONTROL_ROLES: Readonly<Record<ControlIdentity, { id: string; description: string }>> = {
  onboarding: { id: 'OnboardingWorkerRole', description: 'Tenant onboarding: registry, placement, admin user, API key, route' },
  'registry-read': { id: 'RegistryReaderRole', description: 'Operator reads of the tenant registry, audit trail and cell catalog' },
  'tenant-status': { id: 'TenantStatusRole', description: 'Suspends and reactivates tenants' },
  'tenant-plan': { id: 'TenantPlanRole', description: "Changes tenants' tiers and entitlement overrides" },
  'cell-admin': { id: 'CellAdminRole', description: "Changes cells' capacity, wave and draining status" },
  'sign-in': { id: 'SignInRole', description: 'POST /auth/token: no AWS access beyond its logs' },
  'move-request': { id: 'MoveRequestRole', description: 'Requests tenant moves and drains cells; the mover does the work' },
  'tenant-mover': { id: 'TenantMoverRole', description: "Moves one tenant's data between cells, through the cells' tenant access roles" },
  'tenant-offboarding': { id: 'TenantOffboardingRole', description: 'Offboards suspended tenants: key, users, cell data, slot, tombstone' },
  'tenant-export': {
    id: 'TenantExportRole',
    description: "Exports one tenant's data (operator pages; self-service archives in its own prefix) and counts the bytes in the usage ledger",
  },
  'identity-broker': { id: 'IdentityBrokerRole', description: "Identity broker: manages an active tenant's users for the cell it is placed in" },
  'export-request': { id: 'ExportRequestRole', description: "Export broker: has an active tenant's self-service export run, for the cell it is placed in" },
  'release-admin': { id: 'ReleaseAdminRole', description: 'Starts, aborts and rolls back releases; the driver deploys them' },
  'release-driver': { id: 'ReleaseDriverRole', description: "Drives a release cell by cell: deploys, probes, reads each cell's alarms, rolls back" },
  metering: { id: 'MeteringRole', description: "Counts the cells' usage events in the usage ledger, once per idempotency key" },
  'usage-read': { id: 'UsageReaderRole', description: 'Operator reads of usage, cost and tenant SLOs: the usage ledger, registry and catalog' },
  'usage-snapshot': { id: 'UsageSnapshotRole', description: "Hourly snapshot of each active tenant's gauges into the usage ledger, through the cells' tenant access roles" },
};

/** In AWS, Cognito mails a new user's temporary password (local mode hands it back instead). */
const INVITATION_DELIVERY = 'email';

export interface ControlIdentitiesProps {
  tenantsTable: dynamodb.ITable;
  cellsTable: dynamodb.ITable;
  /** The usage ledger (DESIGN §10). */
  usageTable: dynamodb.ITable;
  /** The tenant directory (the operator directory is no role's to touch). */
  userPool: cognito.IUserPool;
  bus: events.IEventBus;
  /** What every control function is told: the directories' ids and issuers. */
  identityEnvironment: Record<string, string>;
}

export interface ControlIdentities {
  /** One role per control identity: the Cell stacks grant them what they may do in each cell. */
  roles: Record<ControlIdentity, iam.Role>;
  /** The environment of a function running as `identity`. */
  environmentOf(identity: ControlIdentity): Record<string, string>;
}

/**
 * One role per control identity, holding exactly the statements core's access/ modules give
 * it (the local platform renders the same ones); the Cell stacks add what each may do in one cell
 * (usage plans, authorizer cache, tenant access), again from core. Also the environment each
 * identity's functions run with.
 */
export function controlIdentities(stack: Stack, app: App, props: ControlIdentitiesProps): ControlIdentities {
  const identityStatements = controlIdentityStatements({
    partition: stack.partition,
    region: stack.region,
    tenantsTableArn: props.tenantsTable.tableArn,
    cellsTableArn: props.cellsTable.tableArn,
    usageTableArn: props.usageTable.tableArn,
    userPoolArn: props.userPool.userPoolArn,
    eventBusArn: props.bus.eventBusArn,
    routerUrlParameterArn: routerUrlParameterArn(stack, app),
    invitationDelivery: INVITATION_DELIVERY,
  });
  const roles = {} as Record<ControlIdentity, iam.Role>;
  for (const identity of CONTROL_IDENTITY_NAMES) {
    const { id, description } = CONTROL_ROLES[identity];
    const role = functionRole(stack, id, description);
    for (const statement of identityStatements[identity]) role.addToPolicy(iam.PolicyStatement.fromJson(statement));
    roles[identity] = role;
  }
  NagSuppressions.addResourceSuppressions(
    roles['tenant-offboarding'],
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "DeleteApiKey revokes the offboarded tenant's own key, whose id is read from its registry record at run time, so the grant names /apikeys/* — DELETE only: no read or update of keys, no usage plan.",
        appliesTo: [`Resource::arn:<AWS::Partition>:apigateway:${stack.region}::/apikeys/*`],
      },
    ],
    true,
  );

  const controlEnvironment = {
    ...props.identityEnvironment,
    TENANTS_TABLE: props.tenantsTable.tableName,
    CELLS_TABLE: props.cellsTable.tableName,
    EVENT_BUS_NAME: props.bus.eventBusName,
    INVITATION_DELIVERY,
  };
  const environmentOf = (identity: ControlIdentity): Record<string, string> => ({
    ...controlEnvironment,
    ...(ROUTER_PROBING_IDENTITIES.has(identity) ? { ROUTER_URL_PARAMETER: routerUrlParameterName(app) } : {}),
    ...(USAGE_LEDGER_IDENTITIES.has(identity) ? { USAGE_TABLE: props.usageTable.tableName } : {}),
  });
  return { roles, environmentOf };
}
