import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tenantMetaKey, tenantUserKey, tenantUsersPartition } from '../keys/keys.js';
import { ConcurrentModification, LastAdmin } from '../shared/errors.js';
import { withTenant } from '../tenancy/tenant-context.js';

/**
 * The one race the integration suite cannot stage on demand (the local platform runs one request
 * per function at a time): two admins demoting each other between one's read of the admins and its
 * write. A hand-written table stands in for the cell's (items by key, conditions as the code writes
 * them), and `beforeClaim` lets a test slip the other admin's change in at exactly that point.
 */
const items = new Map<string, Record<string, unknown>>();
const keyOf = (key: { PK: string; SK: string }) => `${key.PK}|${key.SK}`;
let beforeClaim: (() => void) | undefined;

function conditionFailed(): Error {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

const fakeDoc = {
  // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — a DynamoDB command's input read field by field, where a missing field fails the test anyway.
  send: vi.fn(async (command: { constructor: { name: string }; input: Record<string, any> }) => {
    const { input } = command;
    switch (command.constructor.name) {
      case 'GetCommand':
        return { Item: items.get(keyOf(input.Key)) };
      case 'QueryCommand':
        return { Items: [...items.values()].filter((item) => item.PK === input.ExpressionAttributeValues[':pk']) };
      case 'PutCommand':
        items.set(keyOf(input.Item), { ...input.Item });
        return {};
      case 'DeleteCommand':
        items.delete(keyOf(input.Key));
        return {};
      case 'UpdateCommand': {
        const item = items.get(keyOf(input.Key));
        if (!item) throw conditionFailed();
        const values = input.ExpressionAttributeValues ?? {};
        if (input.UpdateExpression.startsWith('ADD writesInFlight')) return {};
        if (input.UpdateExpression === 'SET usersVersion = :next') {
          beforeClaim?.();
          beforeClaim = undefined;
          const current = typeof item.usersVersion === 'number' ? item.usersVersion : 0;
          const expected = ':version' in values ? values[':version'] : 0;
          if (current !== expected) throw conditionFailed();
          item.usersVersion = values[':next'];
          return {};
        }
        if (input.UpdateExpression === 'SET #role = :to') {
          if (item.role !== values[':from']) throw conditionFailed();
          item.role = values[':to'];
          return {};
        }
        throw new Error(`unexpected update ${input.UpdateExpression}`);
      }
      default:
        throw new Error(`unexpected command ${command.constructor.name}`);
    }
  }),
};

vi.mock('../tenancy/tenant-table.js', () => ({ tenantTable: () => ({ doc: fakeDoc, tableName: 'cell' }) }));
const changeTenantUserRole = vi.fn(async () => {});
vi.mock('./identity-broker.js', () => ({ changeTenantUserRole: (...args: unknown[]) => changeTenantUserRole(...(args as [])) }));

const { changeRole, remove } = await import('./user.js');

const TENANT = 't-1';
const admin = (username: string) => ({ ...tenantUserKey(TENANT, username), username, email: username, role: 'admin', createdAt: '2026-12-03T00:00:00.000Z' });
const asAdmin = <T>(username: string, fn: () => Promise<T>) =>
  withTenant({ tenantId: TENANT, tier: 'standard', cellId: 'cell-1', userId: 'sub', username, roles: ['admin'], overrides: {} }, fn);

beforeEach(() => {
  items.clear();
  items.set(keyOf(tenantMetaKey(TENANT)), { ...tenantMetaKey(TENANT), users: 2 });
  for (const name of ['ada@example.com', 'bob@example.com']) items.set(keyOf(tenantUserKey(TENANT, name)), admin(name));
  changeTenantUserRole.mockClear();
});
afterEach(() => {
  beforeClaim = undefined;
});

const adminsLeft = () => [...items.values()].filter((item) => item.PK === tenantUsersPartition(TENANT) && item.role === 'admin').map((item) => item.username);

describe('User.changeRole, when two admins demote each other at once', () => {
  it('refuses the second demotion (409 CONCURRENT_MODIFICATION), puts its user back, and never reaches the directory for it', async () => {
    // Bob demotes Ada; just before Bob's claim, Ada's demotion of Bob lands (its item written, its claim taken).
    beforeClaim = () => {
      const bob = items.get(keyOf(tenantUserKey(TENANT, 'bob@example.com')))!;
      bob.role = 'user';
      items.get(keyOf(tenantMetaKey(TENANT)))!.usersVersion = 1;
    };
    await expect(asAdmin('bob@example.com', () => changeRole('ada@example.com', { role: 'user' }))).rejects.toBeInstanceOf(ConcurrentModification);
    expect(adminsLeft()).toEqual(['ada@example.com']);
    expect(changeTenantUserRole).not.toHaveBeenCalled();
  });

  it('demotes when nothing else changed meanwhile (the control)', async () => {
    await expect(asAdmin('bob@example.com', () => changeRole('ada@example.com', { role: 'user' }))).resolves.toMatchObject({ changed: true });
    expect(adminsLeft()).toEqual(['bob@example.com']);
    expect(changeTenantUserRole).toHaveBeenCalledWith('ada@example.com', 'user');
  });

  it('refuses to demote or remove the last admin (409 LAST_ADMIN), whoever asks', async () => {
    items.get(keyOf(tenantUserKey(TENANT, 'bob@example.com')))!.role = 'user';
    // A caller whose token still says admin (its standing not read yet): the tenant's own users decide.
    await expect(asAdmin('bob@example.com', () => changeRole('ada@example.com', { role: 'user' }))).rejects.toBeInstanceOf(LastAdmin);
    await expect(asAdmin('bob@example.com', () => remove('ada@example.com'))).rejects.toBeInstanceOf(LastAdmin);
    expect(adminsLeft()).toEqual(['ada@example.com']);
  });
});
