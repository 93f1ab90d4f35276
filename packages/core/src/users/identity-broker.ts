/**
 * The identity broker (DESIGN §13): the only way a cell manages its tenants' users. No cell role
 * holds a user-directory permission; a cell calls these control-plane routes signed with the
 * tenant's own session (the cell's tenant access role, tagged `TenantId=<id>`), and
 *   1. IAM lets that session invoke only the paths that name its own tenant
 *      (`identityBrokerInvokePolicy`, fenced by `${aws:PrincipalTag/TenantId}`), and
 *   2. the broker checks again, from the caller's verified identity (never the body): the session
 *      is a cell's tenant access role, named after the tenant in the path; the tenant is ACTIVE and
 *      placed in that very cell; and a user it touches carries that tenant's `custom:tenant_id`.
 * Only the broker's role holds directory admin rights, and only on the tenant pool: operators live
 * in a pool of their own that no function can administer.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import * as z from 'zod/mini';
import * as Cell from '../cells/cell.js';
import { requireEnv } from '../shared/config.js';
import { BrokerCallerRefused, TenantUserNotFound, UserAlreadyExists } from '../shared/errors.js';
import * as ApiGateway from '../integrations/api-gateway.js';
import * as Identity from '../integrations/identity.js';
import * as UserStanding from './user-standing.js';
import { isTenantId } from '../keys/keys.js';
import { TENANT_TAG_KEY } from '../access/tenant-access-policy.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantCredentials } from '../tenancy/tenant-table.js';
import { getRecord } from '../tenants/tenant.js';
import { parse } from '../shared/validation.js';

export const BROKER_USERS_PATH = '/broker/tenants/{tenantId}/users';
export const BROKER_USER_PATH = '/broker/tenants/{tenantId}/users/{username}';
export const BROKER_USER_SIGN_OUT_PATH = '/broker/tenants/{tenantId}/users/{username}/sign-out';
export const BROKER_USER_RESET_PASSWORD_PATH = '/broker/tenants/{tenantId}/users/{username}/reset-password';

/** The RoleSessionName a cell's tenant session carries (core's TenantTableProvider sets it). */
export function tenantSessionName(tenantId: string): string {
  return `tenant-${tenantId}`.slice(0, 64);
}

export interface IdentityBrokerPolicyInput {
  /** `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>` of the control-plane API. */
  apiStageArn: string;
}

export interface IdentityBrokerPolicyDocument {
  Version: '2012-10-17';
  Statement: [{ Sid: 'OwnTenantUsersThroughBroker'; Effect: 'Allow'; Action: 'execute-api:Invoke'; Resource: string[] }];
}

/**
 * What a tenant session may call on the control plane: the broker's user routes of its own tenant
 * and nothing else. Used verbatim by the Cell stack and by the local platform.
 */
export function identityBrokerInvokePolicy({ apiStageArn }: IdentityBrokerPolicyInput): IdentityBrokerPolicyDocument {
  const tenant = `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`;
  const users = BROKER_USERS_PATH.replace('{tenantId}', tenant);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OwnTenantUsersThroughBroker',
        Effect: 'Allow',
        // A single action as a string: CloudFormation keeps it so, and the stack proof compares verbatim.
        Action: 'execute-api:Invoke',
        Resource: [
          `${apiStageArn}/POST${users}`,
          `${apiStageArn}/DELETE${users}/*`,
          `${apiStageArn}/PATCH${users}/*`,
          `${apiStageArn}/POST${users}/*/sign-out`,
          `${apiStageArn}/POST${users}/*/reset-password`,
        ],
      },
    ],
  };
}

// The cell's side: a client signed with the tenant's session.

/** A request to the control plane's broker routes, signed with the current tenant's session (also the usage broker's). */
export async function brokerRequest(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const base = new URL(requireEnv('IDENTITY_BROKER_URL'));
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}${path}`, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: requireEnv('AWS_REGION'),
    credentials: tenantCredentials(),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: { host: url.host, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}

export function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Invites a user into the current tenant, through the broker. */
export async function inviteTenantUser(input: { email: string; role: Identity.TenantRole }): Promise<Identity.NewUser> {
  const { tenantId } = useTenant();
  const response = await brokerRequest('POST', BROKER_USERS_PATH.replace('{tenantId}', tenantId), input);
  if (response.status === 201) {
    const { username, temporaryPassword } = response.body as { username?: unknown; temporaryPassword?: unknown };
    if (typeof username !== 'string') throw new Error('identity broker answered without a username');
    return typeof temporaryPassword === 'string' ? { username, temporaryPassword } : { username };
  }
  if (response.status === 409 && errorCode(response.body) === 'USER_ALREADY_EXISTS') throw new UserAlreadyExists();
  throw new Error(`identity broker refused the invitation: ${response.status} ${errorCode(response.body) ?? ''}`);
}

function userPath(template: string, username: string): string {
  return template.replace('{tenantId}', useTenant().tenantId).replace('{username}', encodeURIComponent(username));
}

/** Throws the broker's USER_NOT_FOUND as the domain's, anything else unexpected as a fault. */
function requireSuccess(response: { status: number; body: unknown }, what: string): void {
  if (response.status >= 200 && response.status < 300) return;
  if (response.status === 404 && errorCode(response.body) === 'USER_NOT_FOUND') throw new TenantUserNotFound();
  throw new Error(`identity broker refused the ${what}: ${response.status} ${errorCode(response.body) ?? ''}`);
}

/** Removes a user of the current tenant, through the broker; a user already gone is done. */
export async function removeTenantUser(username: string): Promise<void> {
  const response = await brokerRequest('DELETE', userPath(BROKER_USER_PATH, username));
  requireSuccess(response, 'removal');
}

/** Gives a user of the current tenant `role`, through the broker (safe to repeat). */
export async function changeTenantUserRole(username: string, role: Identity.TenantRole): Promise<void> {
  requireSuccess(await brokerRequest('PATCH', userPath(BROKER_USER_PATH, username), { role }), 'role change');
}

/** Signs a user of the current tenant out everywhere, through the broker. */
export async function signOutTenantUser(username: string): Promise<void> {
  requireSuccess(await brokerRequest('POST', userPath(BROKER_USER_SIGN_OUT_PATH, username)), 'sign-out');
}

/** Resets a user's password (or re-sends their invitation), through the broker. */
export async function resetTenantUserPassword(username: string): Promise<PasswordReset> {
  const response = await brokerRequest('POST', userPath(BROKER_USER_RESET_PASSWORD_PATH, username));
  requireSuccess(response, 'password reset');
  const { kind, temporaryPassword } = response.body as { kind?: unknown; temporaryPassword?: unknown };
  if (kind !== 'invitation-resent' && kind !== 'password-reset') throw new Error('identity broker answered a reset without its kind');
  return typeof temporaryPassword === 'string' ? { kind, temporaryPassword } : { kind };
}

export interface PasswordReset {
  kind: Identity.ResetKind;
  /** Present only with `INVITATION_DELIVERY=response` (local); otherwise Cognito e-mails it. */
  temporaryPassword?: string;
}

// The control plane's side.

/** The caller as API Gateway's IAM authorization verified it (`requestContext.identity`). */
export interface BrokerCaller {
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` */
  userArn: string | null | undefined;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;
const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/**
 * The tenant the caller may act for: the one in the path, which IAM already matched against the
 * session's TenantId tag, provided the session is a tenant session of a deployed cell and the
 * tenant is ACTIVE and placed in that cell. Anything else is refused with one answer.
 */
export async function authorizeCaller(caller: BrokerCaller, pathTenantId: string): Promise<{ tenantId: string; cellId: string; cell: Cell.CellRecord }> {
  const session = ASSUMED_ROLE.exec(caller.userArn ?? '');
  if (!session || !isTenantId(pathTenantId)) throw new BrokerCallerRefused();
  const [, partition, account, roleName, sessionName] = session;
  if (sessionName !== tenantSessionName(pathTenantId)) throw new BrokerCallerRefused();
  const cells = await Cell.list();
  const cell = cells.find((candidate) => {
    const role = ROLE.exec(candidate.tenantRoleArn ?? '');
    return role !== null && role[1] === partition && role[2] === account && role[3] === roleName;
  });
  if (!cell) throw new BrokerCallerRefused();
  const tenant = await getRecord(pathTenantId);
  if (tenant?.status !== 'ACTIVE' || tenant.cellId !== cell.cellId) throw new BrokerCallerRefused();
  return { tenantId: tenant.tenantId, cellId: cell.cellId, cell };
}

export const InviteInput = z.strictObject({
  email: z.email('email must be an email address').check(z.maxLength(254), z.toLowerCase()),
  role: z.enum(Identity.ROLES),
});

/** POST /broker/tenants/{tenantId}/users: a new user bound to the caller's tenant, in a tenant role. */
export async function brokerInvite(caller: BrokerCaller, pathTenantId: string, input: unknown): Promise<Identity.NewUser> {
  const { tenantId } = await authorizeCaller(caller, pathTenantId);
  const { email, role } = parse(InviteInput, input);
  return Identity.createTenantUser({ tenantId, email, role });
}

/**
 * The user a broker call names, when it is a user of the caller's tenant. Another tenant's user (or
 * one bound to no tenant, such as an operator's name) is answered like a user that does not exist.
 */
async function tenantUser(tenantId: string, username: string): Promise<Identity.DirectoryUser & { sub: string }> {
  if (username.length === 0 || username.length > 254) throw new TenantUserNotFound();
  const user = await Identity.getUser(username);
  if (!user || user.tenantId !== tenantId || user.sub === undefined) throw new TenantUserNotFound();
  return { ...user, sub: user.sub };
}

/** The calling cell drops its cached authorizer decisions: a user's new standing applies on their next request. */
async function applyNow(cell: Cell.CellRecord): Promise<void> {
  await ApiGateway.flushAuthorizerCache({ apiId: cell.apiId, stage: cell.stage });
}

/**
 * Voids the user's tokens issued up to this second, and answers only once the second is over: a
 * token's `iat` has whole seconds, so a sign-in that follows the answer gets a later one and stands.
 */
async function revokeIssuedTokens(tenantId: string, sub: string): Promise<void> {
  const now = Date.now();
  await UserStanding.revokeIssuedTokens(tenantId, sub, now);
  const secondOver = (Math.floor(now / 1000) + 1) * 1000;
  const wait = secondOver - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * DELETE /broker/tenants/{tenantId}/users/{username}: only a user of the caller's tenant. Its
 * refresh tokens are revoked and its access tokens void on the next request; a user already gone is done.
 */
export async function brokerRemove(caller: BrokerCaller, pathTenantId: string, username: string): Promise<void> {
  const { tenantId, cell } = await authorizeCaller(caller, pathTenantId);
  if (username.length === 0 || username.length > 254) throw new TenantUserNotFound();
  const user = await Identity.getUser(username);
  if (!user) return;
  if (user.tenantId !== tenantId || user.sub === undefined) throw new TenantUserNotFound();
  // The standing first: should the deletion fail, the user is signed out rather than half removed.
  await UserStanding.markRemoved(tenantId, user.sub);
  await Identity.signOutEverywhere(user.username);
  await Identity.deleteUser(user.username);
  await applyNow(cell);
}

export const RoleInput = z.strictObject({ role: z.enum(Identity.ROLES) });

/**
 * PATCH /broker/tenants/{tenantId}/users/{username} `{role}`: the user's groups, and the role its
 * tokens already issued are judged by. Safe to repeat: a retry finishes a change a crash interrupted.
 */
export async function brokerChangeRole(caller: BrokerCaller, pathTenantId: string, username: string, input: unknown): Promise<void> {
  const { tenantId, cell } = await authorizeCaller(caller, pathTenantId);
  const { role } = parse(RoleInput, input);
  const user = await tenantUser(tenantId, username);
  await Identity.setRole(user.username, role);
  await UserStanding.recordRole(tenantId, user.sub, role);
  await applyNow(cell);
}

/** POST /broker/tenants/{tenantId}/users/{username}/sign-out: every refresh token revoked, every access token void. */
export async function brokerSignOut(caller: BrokerCaller, pathTenantId: string, username: string): Promise<void> {
  const { tenantId, cell } = await authorizeCaller(caller, pathTenantId);
  const user = await tenantUser(tenantId, username);
  await Identity.signOutEverywhere(user.username);
  await revokeIssuedTokens(tenantId, user.sub);
  await applyNow(cell);
}

/**
 * POST /broker/tenants/{tenantId}/users/{username}/reset-password: a user who never signed in gets
 * their invitation again; one who did gets a temporary password in place of theirs, and is signed
 * out everywhere (whoever knew the old password holds no session either).
 */
export async function brokerResetPassword(caller: BrokerCaller, pathTenantId: string, username: string): Promise<PasswordReset> {
  const { tenantId, cell } = await authorizeCaller(caller, pathTenantId);
  const user = await tenantUser(tenantId, username);
  const reset = await Identity.resetPassword(user);
  if (reset.kind === 'password-reset') {
    await Identity.signOutEverywhere(user.username);
    await revokeIssuedTokens(tenantId, user.sub);
    await applyNow(cell);
  }
  return reset.temporaryPassword !== undefined ? { kind: reset.kind, temporaryPassword: reset.temporaryPassword } : { kind: reset.kind };
}
