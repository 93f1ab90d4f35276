/**
 * A tenant user's standing: what the directory's self-contained access tokens cannot say about
 * themselves once issued. Cognito's global sign-out and user deletion revoke refresh tokens only; an
 * access token keeps verifying against the JWKS until it expires. So, as a tenant's suspension
 * does, the registry says it and the cell's authorizer reads it on every uncached request (the
 * broker flushes the cell's authorizer cache after each change):
 *   - `removed`: every token of this user (`sub`, never reused by a new user of the same name) is void;
 *   - `notBefore`: tokens issued at or before this second are void (signed out everywhere, or a
 *     password reset). A sign-in within the very same second as the sign-out is refused too: a
 *     token's `iat` has whole seconds only, and the doubt goes against the token;
 *   - `role`: the user's current role, which replaces the role a token issued before the change
 *     carries. A role is read fresh rather than revoked so that a change applies on the next
 *     request without signing the user out (a demoted admin loses admin at once; a promoted user
 *     gains it without signing in again), and tokens issued later carry it anyway.
 * The record expires (registry TTL) once no access token issued before its last change can still
 * be valid: the directory's groups then say the same in every token.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantRole } from '../integrations/identity.js';
import { isTenantId, tenantUserStandingKey } from '../keys/keys.js';
import { systemDocumentClient } from '../shared/dynamo.js';
import { tenantsTable } from '../tenants/repository.js';

/** Cognito's longest access-token validity (one day): a standing kept this long outlives every token it judges. */
const LONGEST_ACCESS_TOKEN_SECONDS = 86_400;

export interface UserStanding {
  removed?: boolean;
  /** Epoch seconds: a token with `iat` at or before it is void. */
  notBefore?: number;
  role?: TenantRole;
}

/** What the authorizer concludes for one verified token. */
export type TokenStanding = { valid: false } | { valid: true; roles?: string[] };

function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

async function write(tenantId: string, sub: string, set: Record<string, unknown>, now: number): Promise<void> {
  const names: Record<string, string> = { '#expiresAt': 'expiresAt', '#tenantId': 'tenantId' };
  const values: Record<string, unknown> = { ':expiresAt': epochSeconds(now) + LONGEST_ACCESS_TOKEN_SECONDS, ':tenantId': tenantId };
  const assignments = ['#expiresAt = :expiresAt', '#tenantId = :tenantId'];
  for (const [name, value] of Object.entries(set)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    assignments.push(`#${name} = :${name}`);
  }
  await systemDocumentClient().send(
    new UpdateCommand({
      TableName: tenantsTable(),
      Key: tenantUserStandingKey(tenantId, sub),
      UpdateExpression: `SET ${assignments.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Voids every token of the user issued up to now (signed out everywhere, password reset). */
export function revokeIssuedTokens(tenantId: string, sub: string, now = Date.now()): Promise<void> {
  return write(tenantId, sub, { notBefore: epochSeconds(now) }, now);
}

/** Voids every token the user ever had: the user is gone. */
export function markRemoved(tenantId: string, sub: string, now = Date.now()): Promise<void> {
  return write(tenantId, sub, { removed: true, notBefore: epochSeconds(now) }, now);
}

/** Records the user's role, which tokens issued before now do not carry. */
export function recordRole(tenantId: string, sub: string, role: TenantRole, now = Date.now()): Promise<void> {
  return write(tenantId, sub, { role }, now);
}

export async function read(tenantId: string, sub: string): Promise<UserStanding | undefined> {
  // Strongly consistent: the broker answers once the standing is written and the cache flushed, so the
  // very next request must see it — an eventually consistent read could still allow (and cache) a revoked token.
  const { Item } = await systemDocumentClient().send(new GetCommand({ TableName: tenantsTable(), Key: tenantUserStandingKey(tenantId, sub), ConsistentRead: true }));
  return Item as UserStanding | undefined;
}

/** Judges a verified token (its tenant, `sub` and `iat`) by the user's standing. */
export function judge(standing: UserStanding | undefined, issuedAt: number | undefined): TokenStanding {
  if (!standing) return { valid: true };
  if (standing.removed === true) return { valid: false };
  if (standing.notBefore !== undefined && (issuedAt === undefined || issuedAt <= standing.notBefore)) return { valid: false };
  return standing.role !== undefined ? { valid: true, roles: [standing.role] } : { valid: true };
}

/** The standing of a verified token's user; a token whose `sub` could key nothing is void. */
export async function standingOf(tenantId: string, sub: string, issuedAt: number | undefined): Promise<TokenStanding> {
  if (!isTenantId(tenantId) || !/^[\w-]{1,128}$/.test(sub)) return { valid: false };
  return judge(await read(tenantId, sub), issuedAt);
}
