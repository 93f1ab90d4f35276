import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import * as Counters from '../tenancy/counters.js';
import { currentEntitlements, requireRole } from '../tenancy/entitlements.js';
import { ConcurrentModification, InvalidCursor, LastAdmin, OwnAccount, TenantUserNotFound, UserAlreadyExists } from '../shared/errors.js';
import { isConditionalCheckFailed, queryAllItems } from '../shared/dynamo.js';
import * as Identity from '../integrations/identity.js';
import * as IdentityBroker from './identity-broker.js';
import { tenantMetaKey, tenantUserKey, tenantUsersPartition } from '../keys/keys.js';
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
  const items = (await tenantUserItems(false)).map(({ username, email, role, createdAt }) => ({ username, email, role, createdAt }) as UserView);
  return { items };
}

/**
 * Every user item of the current tenant (its USERS partition). Bounded by the plan's max users, so
 * reading the whole partition is fine; `consistent` for a decision that must see the latest change.
 */
async function tenantUserItems(consistent: boolean): Promise<Record<string, unknown>[]> {
  const { doc, tableName } = tenantTable();
  return queryAllItems(doc, {
    TableName: tableName,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': tenantUsersPartition(useTenant().tenantId) },
    ...(consistent ? { ConsistentRead: true } : {}),
  });
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

// Managing the tenant's users (tenant admins only): remove, change role, reset password, sign out.

/**
 * What a tenant admin did to a user, for the tenant's audit trail: the actor is the caller
 * (`useTenant().username`), the target the user named in the path.
 */
export type UserAction = 'user.removed' | 'user.role-changed' | 'user.signed-out' | 'user.password-reset';

/** A username as the path names it: an e-mail address (usernames are the invited addresses, lower-case). */
export const Username = z.email('username must be a user’s e-mail address').check(z.maxLength(254), z.toLowerCase());

export const ChangeRoleInput = z.strictObject({ role: z.enum(Identity.ROLES) });

async function loadUser(username: string): Promise<UserView> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantUserKey(useTenant().tenantId, username), ConsistentRead: true }));
  if (!Item) throw new TenantUserNotFound();
  const { email, role, createdAt } = Item as UserView;
  return { username: Item.username as string, email, role, createdAt };
}

/**
 * Guards the one rule no two admins may break together: the tenant keeps an admin. A change that
 * takes admin away (a demotion, a removal) first writes its own item, then re-reads the tenant's
 * admins as they were before any such change it could have missed: it claims the users' version
 * it read, and of two concurrent changes the second's claim fails (optimistic concurrency on the
 * counters item). `undo` puts the item back when the claim fails.
 */
async function withAdminKept(target: string, change: () => Promise<void>, undo: () => Promise<void>): Promise<void> {
  const { doc, tableName } = tenantTable();
  const { tenantId } = useTenant();
  const { Item: meta } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantMetaKey(tenantId), ConsistentRead: true }));
  const version = typeof meta?.usersVersion === 'number' ? meta.usersVersion : 0;
  const admins = (await tenantUserItems(true)).filter((item) => item.role === 'admin').map((item) => item.username as string);
  if (admins.every((admin) => admin === target)) throw new LastAdmin();
  await change();
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: 'SET usersVersion = :next',
        ConditionExpression: version === 0 ? 'attribute_exists(PK) AND (attribute_not_exists(usersVersion) OR usersVersion = :zero)' : 'usersVersion = :version',
        ExpressionAttributeValues: { ':next': version + 1, ...(version === 0 ? { ':zero': 0 } : { ':version': version }) },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    await undo();
    throw new ConcurrentModification('Another change to this tenant’s admins happened at the same time: try again.', { cause: error });
  }
}

function refuseOwnAccount(username: string): void {
  if (username === useTenant().username.toLowerCase()) throw new OwnAccount();
}

/**
 * Removes a user of the current tenant (tenant admins only): from the directory, through the
 * broker (their tokens stop working on their next request), and from the tenant's users, which
 * gives their seat back to the plan. Not the caller, not the last admin. A user already removed, or
 * never a user of this tenant, is `USER_NOT_FOUND` and nothing changes.
 */
export async function remove(username: unknown): Promise<UserView> {
  requireRole('admin');
  const name = parse(Username, username, 'username');
  refuseOwnAccount(name);
  return fencedWrite(async () => {
    const user = await loadUser(name);
    const { doc, tableName } = tenantTable();
    const { tenantId } = useTenant();
    const deleteItem = async () => {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: tenantUserKey(tenantId, name), ConditionExpression: 'attribute_exists(PK)' })).catch((error: unknown) => {
        // Removed by a concurrent request: that request answers for it.
        if (isConditionalCheckFailed(error)) throw new TenantUserNotFound({ cause: error });
        throw error;
      });
    };
    const restore = () => doc.send(new PutCommand({ TableName: tableName, Item: userItem(tenantId, user) })).then(() => undefined);
    if (user.role === 'admin') await withAdminKept(name, deleteItem, restore);
    else await deleteItem();
    try {
      await IdentityBroker.removeTenantUser(name);
    } catch (error) {
      await restore();
      throw error;
    }
    await Counters.release('users');
    return user;
  });
}

/**
 * Gives a user of the current tenant another role (tenant admins only). It applies on the user's
 * next request, whatever tokens they hold (the broker records it where the authorizer reads it).
 * Not demoting oneself, not the last admin. Asking for the role the user has answers the user as
 * they are (`changed: false`: nothing to record), and makes sure the directory agrees.
 */
export async function changeRole(username: unknown, input: unknown): Promise<{ user: UserView; changed: boolean; previousRole: Identity.TenantRole }> {
  requireRole('admin');
  const name = parse(Username, username, 'username');
  const { role } = parse(ChangeRoleInput, input);
  if (role !== 'admin') refuseOwnAccount(name);
  return fencedWrite(async () => {
    const user = await loadUser(name);
    if (user.role === role) {
      // A repeat, or the retry of a change interrupted after the cell's write: the broker's calls are idempotent.
      await IdentityBroker.changeTenantUserRole(name, role);
      return { user, changed: false, previousRole: user.role };
    }
    const { doc, tableName } = tenantTable();
    const { tenantId } = useTenant();
    const setRole = (from: Identity.TenantRole, to: Identity.TenantRole) => async () => {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: tenantUserKey(tenantId, name),
            UpdateExpression: 'SET #role = :to',
            ConditionExpression: '#role = :from',
            ExpressionAttributeNames: { '#role': 'role' },
            ExpressionAttributeValues: { ':to': to, ':from': from },
          }),
        );
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw new ConcurrentModification('This user changed at the same time: try again.', { cause: error });
        throw error;
      }
    };
    const change = setRole(user.role, role);
    const undo = setRole(role, user.role);
    if (user.role === 'admin') await withAdminKept(name, change, undo);
    else await change();
    try {
      await IdentityBroker.changeTenantUserRole(name, role);
    } catch (error) {
      await undo();
      throw error;
    }
    return { user: { ...user, role }, changed: true, previousRole: user.role };
  });
}

/** Signs a user of the current tenant out everywhere (tenant admins only; oneself included). */
export async function signOut(username: unknown): Promise<void> {
  requireRole('admin');
  const name = parse(Username, username, 'username');
  await loadUser(name);
  await IdentityBroker.signOutTenantUser(name);
}

/**
 * Resets a user's password (tenant admins only): re-sends the invitation of a user who never
 * signed in, or replaces the password of one who did with a temporary one (and signs them out
 * everywhere). Either way their next sign-in must choose a new password. Each call issues a new
 * temporary password.
 */
export async function resetPassword(username: unknown): Promise<{ username: string } & IdentityBroker.PasswordReset> {
  requireRole('admin');
  const name = parse(Username, username, 'username');
  await loadUser(name);
  return { username: name, ...(await IdentityBroker.resetTenantUserPassword(name)) };
}
