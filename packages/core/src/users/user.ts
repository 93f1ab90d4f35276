import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as Counters from '../tenancy/counters.js';
import { currentEntitlements, requireRole } from '../tenancy/entitlements.js';
import { InvalidCursor, UserAlreadyExists } from '../shared/errors.js';
import * as Identity from '../integrations/identity.js';
import * as IdentityBroker from './identity-broker.js';
import { tenantUserKey, tenantUsersPartition } from '../keys/keys.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { parse } from '../shared/validation.js';

export interface UserView {
  username: string;
  email: string;
  role: Identity.TenantRole;
  createdAt: string;
}

/** The one shape of a user item in a cell's table, whoever writes it (an invitation, onboarding's admin). */
export function userItem(tenantId: string, user: UserView): Record<string, unknown> {
  return { ...tenantUserKey(tenantId, user.username), type: 'user', tenantId, ...user };
}

export const CreateInput = z.strictObject({
  email: z.email('email must be an email address').check(z.maxLength(254), z.toLowerCase()),
  role: z.enum(Identity.ROLES),
});

/**
 * What `GET /users` takes in its query: nothing. The list is bounded by the plan's max users and
 * comes in one answer, so it issues no cursor and takes no `limit`.
 */
export const ListInput = z.strictObject({});

/**
 * The current tenant's users (tenant admins only). A `cursor` is one this listing never issued
 * (400 `INVALID_CURSOR`, as elsewhere); any other query parameter is unknown (422).
 */
export async function list(query: unknown = {}): Promise<{ items: UserView[] }> {
  requireRole('admin');
  if (typeof query === 'object' && query !== null && Object.hasOwn(query, 'cursor')) throw new InvalidCursor();
  parse(ListInput, query);
  const { doc, tableName } = tenantTable();
  const items: UserView[] = [];
  let startKey: Record<string, unknown> | undefined;
  // Bounded by the plan's max users, so reading the whole partition is fine.
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': tenantUsersPartition(useTenant().tenantId) },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const { username, email, role, createdAt } of page.Items ?? []) items.push({ username, email, role, createdAt } as UserView);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { items };
}

/** Invites a user into the current tenant, within the plan's `max users`. */
export async function create(input: unknown): Promise<UserView & { temporaryPassword?: string }> {
  requireRole('admin');
  const { email, role } = parse(CreateInput, input);
  return fencedWrite(() => invite(email, role));
}

async function invite(email: string, role: Identity.TenantRole): Promise<UserView & { temporaryPassword?: string }> {
  const { tenantId } = useTenant();
  await Counters.reserve('users', currentEntitlements().limits.maxUsers);
  let created: Identity.NewUser;
  try {
    // Through the control plane's identity broker, as the tenant: the cell holds no directory rights.
    created = await IdentityBroker.inviteTenantUser({ email, role });
  } catch (error) {
    await Counters.release('users');
    throw error;
  }
  const user: UserView = { username: created.username, email, role, createdAt: new Date().toISOString() };
  const { doc, tableName } = tenantTable();
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: userItem(tenantId, user),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    // Undo the directory user and the reservation: a failed invitation leaves nothing behind.
    await IdentityBroker.removeTenantUser(created.username);
    await Counters.release('users');
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') throw new UserAlreadyExists({ cause: error });
    throw error;
  }
  return created.temporaryPassword ? { ...user, temporaryPassword: created.temporaryPassword } : user;
}
