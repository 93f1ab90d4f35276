/** The control plane's roles in the local account, as the ControlPlane stack creates them. */
import { CONTROL_IDENTITY_NAMES, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type RoleDefinition } from '../aws/types.js';
import { PARTITION, functionRole, lambdaTrust, roleArn, tableArn } from './role-definition.js';

/** One role per control identity, as the ControlPlane stack creates them. */
export function controlRoleArn(prefix: string, identity: ControlIdentity): string {
  return roleArn(`${prefix}-control-${identity}`);
}

export interface ControlRolesInput {
  prefix: string;
  /** The stage's name: the router URL parameter's name follows the stack's `/<app>/<stage>/router-url`. */
  stage: string;
  tenantsTable: string;
  cellsTable: string;
  usageTable: string;
  userPoolArn: string;
  eventBusArn: string;
}

/**
 * The control identities' roles with core's statements. Local mode hands a new user's temporary
 * password back (INVITATION_DELIVERY=response), so a resumed onboarding sets it with
 * AdminSetUserPassword, which core grants for that delivery only. The router-probing identities'
 * grant on the router URL parameter is rendered too, though local mode passes the URL directly
 * (there is no SSM here): it names the parameter the stack's would.
 */
export function controlRoles(input: ControlRolesInput): Record<ControlIdentity, RoleDefinition> {
  const statements = controlIdentityStatements({
    partition: PARTITION,
    region: LOCAL_REGION,
    tenantsTableArn: tableArn(input.tenantsTable),
    cellsTableArn: tableArn(input.cellsTable),
    usageTableArn: tableArn(input.usageTable),
    userPoolArn: input.userPoolArn,
    eventBusArn: input.eventBusArn,
    routerUrlParameterArn: `arn:${PARTITION}:ssm:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:parameter/cellbook/${input.stage}/router-url`,
    invitationDelivery: 'response',
  });
  const roles = {} as Record<ControlIdentity, RoleDefinition>;
  for (const identity of CONTROL_IDENTITY_NAMES) roles[identity] = functionRole(`${input.prefix}-control-${identity}`, statements[identity]);
  return roles;
}

/** The operator authorizer verifies tokens only: no AWS access, as the stack's OperatorAuthorizerRole. */
export function operatorAuthorizerRole(prefix: string): RoleDefinition {
  return functionRole(`${prefix}-operator-authorizer`, []);
}

/**
 * Drills and benchmarks run core's control-plane code in-process, several identities' code in one
 * process (its SDK clients are created once, with one set of credentials). This role holds exactly
 * the union of the control identities' grants — each identity's policy, by name, and each cell's
 * grants as the cell adds them — and nothing else. It has no counterpart in AWS and no function
 * runs under it; the platform creates it only when a drill asks for it.
 */
export function controlDrillRoleArn(prefix: string): string {
  return roleArn(`${prefix}-control-drills`);
}

export function controlDrillRole(prefix: string, roles: Readonly<Record<ControlIdentity, RoleDefinition>>): RoleDefinition {
  return {
    name: `${prefix}-control-drills`,
    arn: controlDrillRoleArn(prefix),
    policies: CONTROL_IDENTITY_NAMES.flatMap((identity) => roles[identity].policies.map((policy) => ({ name: identity, document: policy.document }))),
    trustPolicy: lambdaTrust(),
  };
}
