/**
 * Which AWS services each function of `bench:coldstart` may call, read from the permissions it is
 * deployed with: core's function permissions (the stacks render the same statements; a test holds
 * the two equal) and, for what reaches tenant data, the cell's tenant access role and the identity
 * broker's invoke policy. A service is the prefix of an allowed action (`dynamodb:GetItem`).
 */
import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import * as UsageBroker from '@cellbook/core/metering/usage-broker';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITIES, TENANT_ACCESS_IDENTITIES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { tenantAccessPolicy } from '@cellbook/core/access/tenant-access-policy';
import { CELL_AUTHORIZER, CELL_ROUTES, CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';

export interface FunctionServices {
  handler: string;
  /** IAM service prefixes, e.g. `dynamodb`, `sts`, `execute-api`. */
  services: string[];
}

// Any well-formed ARNs do: only the actions' service prefixes are read.
const ARN = (service: string, resource: string) => `arn:aws:${service}:us-east-1:123456789012:${resource}`;
const CONTROL = controlIdentityStatements({
  partition: 'aws',
  region: 'us-east-1',
  tenantsTableArn: ARN('dynamodb', 'table/tenants'),
  cellsTableArn: ARN('dynamodb', 'table/cells'),
  usageTableArn: ARN('dynamodb', 'table/usage'),
  userPoolArn: ARN('cognito-idp', 'userpool/us-east-1_x'),
  eventBusArn: ARN('events', 'event-bus/bus'),
  routerUrlParameterArn: ARN('ssm', 'parameter/router-url'),
  invitationDelivery: 'email',
});
const CELL_GRANTS = cellControlGrants({
  partition: 'aws',
  region: 'us-east-1',
  cellTableArn: ARN('dynamodb', 'table/cell'),
  tenantAccessRoleArn: 'arn:aws:iam::123456789012:role/cell-tenant-access',
  restApiId: 'api',
  stageName: 'prod',
  usagePlanIds: { basic: 'b', standard: 's', premium: 'p', enterprise: 'e' },
});
/** What a tenant session of a cell may call: its items, and its own users through the broker. */
const TENANT_SESSION = [
  ...tenantAccessPolicy({ tableArn: ARN('dynamodb', 'table/cell'), bucketArn: 'arn:aws:s3:::cell-evidence' }).Statement,
  ...IdentityBroker.identityBrokerInvokePolicy({ apiStageArn: ARN('execute-api', 'api/prod') }).Statement,
  ...UsageBroker.usageBrokerInvokePolicy({ apiStageArn: ARN('execute-api', 'api/prod') }).Statement,
];

function servicesOf(statements: readonly { Action: string | readonly string[] }[]): string[] {
  const actions = statements.flatMap((statement) => (typeof statement.Action === 'string' ? [statement.Action] : statement.Action));
  return [...new Set(actions.map((action) => action.slice(0, action.indexOf(':'))))].sort();
}

function controlServices(identity: ControlIdentity): string[] {
  const tenantSession = TENANT_ACCESS_IDENTITIES.includes(identity) ? TENANT_SESSION : [];
  return servicesOf([...CONTROL[identity], ...CELL_GRANTS[identity], ...tenantSession]);
}

/** Calls IAM never sees: the sign-in handler uses Cognito's public sign-in API, which takes no AWS signature. */
const UNSIGNED_SERVICES: Readonly<Record<string, readonly string[]>> = { 'control/auth-token': ['cognito-idp'] };

export function functionServices(): FunctionServices[] {
  const tenantRequest = servicesOf([...cellApiStatements({ tenantAccessRoleArn: 'arn:aws:iam::123456789012:role/cell-tenant-access' }), ...TENANT_SESSION]);
  const controlHandlers = [
    ...CONTROL_ROUTES.map((r) => r.handler),
    ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler),
    ...CONTROL_SCHEDULES.map((job) => job.handler),
    ...LOG_SUBSCRIBERS.map((subscriber) => subscriber.handler),
  ];
  return [
    // The stack gives the public health check a role with no AWS access.
    ...CELL_ROUTES.map((route) => ({ handler: route.handler, services: route.handler === 'health' ? [] : tenantRequest })),
    { handler: CELL_AUTHORIZER, services: servicesOf(cellAuthorizerStatements({ tenantsTableArn: ARN('dynamodb', 'table/tenants') })) },
    ...controlHandlers.map((handler) => ({
      handler,
      services: [...new Set([...controlServices(CONTROL_IDENTITIES[handler]!), ...(UNSIGNED_SERVICES[handler] ?? [])])].sort(),
    })),
    // Verifies operator tokens against the directory's published keys: no AWS access.
    { handler: OPERATOR_AUTHORIZER, services: [] },
    { handler: 'cognito/pre-token-generation', services: [] },
  ];
}
