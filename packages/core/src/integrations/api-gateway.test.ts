// Mocked SDK client: the local stand-in exists, but these tests pin the exact API Gateway calls and error handling (Conflict vs NotFound, paging) that a stand-in can only approximate.
import {
  APIGatewayClient,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsagePlansCommand,
  NotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deleteApiKey, ensureTenantApiKey, findTenantApiKey, moveApiKey } from './api-gateway.js';

const api = mockClient(APIGatewayClient);

/** Every command sent, in order, as [command name, input]. */
function sent(): [string, unknown][] {
  return api.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

const meta = { $metadata: {} };
const conflict = (message: string) => new ConflictException({ message, ...meta });
const notFound = (message: string) => new NotFoundException({ message, ...meta });
const KEY = { id: 'k1a2b3c4d5', name: 'tenant-acme', value: 'v'.repeat(40) };

beforeEach(() => {
  api.reset();
});

describe('ApiGateway.findTenantApiKey', () => {
  it('asks for the tenant key by name, with its value, in the largest pages', async () => {
    api.on(GetApiKeysCommand).resolves({ items: [KEY] });
    await expect(findTenantApiKey('acme')).resolves.toEqual({ apiKeyId: KEY.id, value: KEY.value });
    expect(sent()).toEqual([['GetApiKeysCommand', { nameQuery: 'tenant-acme', includeValues: true, limit: 500, position: undefined }]]);
  });

  it("ignores another tenant's key that only shares the name prefix (tenant-t-1 vs tenant-t-10)", async () => {
    api.on(GetApiKeysCommand).resolves({ items: [{ id: 'k10', name: 'tenant-t-10', value: 'x'.repeat(40) }] });
    await expect(findTenantApiKey('t-1')).resolves.toBeUndefined();
  });

  it('follows position through every page until the exact name turns up', async () => {
    api
      .on(GetApiKeysCommand, { position: undefined })
      .resolves({ items: [{ id: 'k10', name: 'tenant-t-10', value: 'a'.repeat(40) }], position: 'p2' })
      .on(GetApiKeysCommand, { position: 'p2' })
      .resolves({ items: [{ id: 'k11', name: 'tenant-t-11', value: 'b'.repeat(40) }], position: 'p3' })
      .on(GetApiKeysCommand, { position: 'p3' })
      .resolves({ items: [{ id: 'k1', name: 'tenant-t-1', value: 'c'.repeat(40) }] });
    await expect(findTenantApiKey('t-1')).resolves.toEqual({ apiKeyId: 'k1', value: 'c'.repeat(40) });
    expect(api.commandCalls(GetApiKeysCommand).map((call) => call.args[0].input.position)).toEqual([undefined, 'p2', 'p3']);
  });

  it('answers undefined after the last page when the tenant has no key', async () => {
    api.on(GetApiKeysCommand, { position: undefined }).resolves({ items: [], position: 'p2' }).on(GetApiKeysCommand, { position: 'p2' }).resolves({ items: [] });
    await expect(findTenantApiKey('acme')).resolves.toBeUndefined();
    expect(api.commandCalls(GetApiKeysCommand)).toHaveLength(2);
  });
});

describe('ApiGateway.ensureTenantApiKey', () => {
  it('creates the key with the tenant name, description and tag, enabled, and puts it on the plan', async () => {
    api.on(GetApiKeysCommand).resolves({ items: [] });
    api.on(CreateApiKeyCommand).resolves(KEY);
    api.on(CreateUsagePlanKeyCommand).resolves({ id: KEY.id, type: 'API_KEY' });
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).resolves.toEqual({ apiKeyId: KEY.id, value: KEY.value });
    expect(sent()).toEqual([
      ['GetApiKeysCommand', { nameQuery: 'tenant-acme', includeValues: true, limit: 500, position: undefined }],
      ['CreateApiKeyCommand', { name: 'tenant-acme', description: 'Usage identifier of tenant acme', enabled: true, tags: { tenant: 'acme' } }],
      ['CreateUsagePlanKeyCommand', { usagePlanId: 'plan-basic', keyId: KEY.id, keyType: 'API_KEY' }],
    ]);
  });

  it('reuses the key a crashed attempt created instead of minting a second one', async () => {
    api.on(GetApiKeysCommand).resolves({ items: [KEY] });
    api.on(CreateUsagePlanKeyCommand).resolves({ id: KEY.id, type: 'API_KEY' });
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).resolves.toEqual({ apiKeyId: KEY.id, value: KEY.value });
    expect(api.commandCalls(CreateApiKeyCommand)).toEqual([]);
    expect(api.commandCalls(CreateUsagePlanKeyCommand, { usagePlanId: 'plan-basic', keyId: KEY.id })).toHaveLength(1);
  });

  it('treats "already in this plan" as done once GetUsagePlans confirms the membership', async () => {
    api.on(GetApiKeysCommand).resolves({ items: [KEY] });
    api.on(CreateUsagePlanKeyCommand).rejects(conflict('Usage Plan Key already exists'));
    api.on(GetUsagePlansCommand).resolves({ items: [{ id: 'plan-other-cell' }, { id: 'plan-basic' }] });
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).resolves.toEqual({ apiKeyId: KEY.id, value: KEY.value });
    expect(sent().at(-1)).toEqual(['GetUsagePlansCommand', { keyId: KEY.id, limit: 500, position: undefined }]);
  });

  it('reads every page of the key’s plans before deciding on a conflict', async () => {
    api.on(GetApiKeysCommand).resolves({ items: [KEY] });
    api.on(CreateUsagePlanKeyCommand).rejects(conflict('Usage Plan Key already exists'));
    api
      .on(GetUsagePlansCommand, { position: undefined })
      .resolves({ items: [{ id: 'plan-other-cell' }], position: 'next' })
      .on(GetUsagePlansCommand, { position: 'next' })
      .resolves({ items: [{ id: 'plan-basic' }] });
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).resolves.toMatchObject({ apiKeyId: KEY.id });
    expect(api.commandCalls(GetUsagePlansCommand)).toHaveLength(2);
  });

  it('refuses a conflict that means the key sits in another plan of the same API stage', async () => {
    const sameStage = conflict(`Usage Plan plan-basic cannot be added because API Key ${KEY.id} cannot reference multiple Usage Plans with the same API Stage`);
    api.on(GetApiKeysCommand).resolves({ items: [KEY] });
    api.on(CreateUsagePlanKeyCommand).rejects(sameStage);
    api.on(GetUsagePlansCommand).resolves({ items: [{ id: 'plan-premium' }] });
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).rejects.toBe(sameStage);
  });

  it('passes other failures through untouched', async () => {
    const throttled = new TooManyRequestsException({ message: 'Too Many Requests', ...meta });
    api.on(GetApiKeysCommand).rejects(throttled);
    await expect(ensureTenantApiKey({ tenantId: 'acme', usagePlanId: 'plan-basic' })).rejects.toBe(throttled);
    expect(api.commandCalls(CreateApiKeyCommand)).toEqual([]);
  });
});

describe('ApiGateway.deleteApiKey', () => {
  it('deletes the key by id', async () => {
    api.on(DeleteApiKeyCommand).resolves({});
    await deleteApiKey(KEY.id);
    expect(sent()).toEqual([['DeleteApiKeyCommand', { apiKey: KEY.id }]]);
  });

  it('treats a key that is already gone as deleted', async () => {
    api.on(DeleteApiKeyCommand).rejects(notFound('Invalid API Key identifier specified'));
    await expect(deleteApiKey(KEY.id)).resolves.toBeUndefined();
  });

  it('passes other failures through', async () => {
    api.on(DeleteApiKeyCommand).rejects(conflict('busy'));
    await expect(deleteApiKey(KEY.id)).rejects.toBeInstanceOf(ConflictException);
  });
});

describe('ApiGateway.moveApiKey', () => {
  const move = { apiKeyId: KEY.id, fromUsagePlanId: 'plan-basic', toUsagePlanId: 'plan-standard' };

  it('leaves the old plan before joining the new one (one plan per API stage)', async () => {
    api.on(DeleteUsagePlanKeyCommand).resolves({});
    api.on(CreateUsagePlanKeyCommand).resolves({ id: KEY.id });
    await moveApiKey(move);
    expect(sent()).toEqual([
      ['DeleteUsagePlanKeyCommand', { usagePlanId: 'plan-basic', keyId: KEY.id }],
      ['CreateUsagePlanKeyCommand', { usagePlanId: 'plan-standard', keyId: KEY.id, keyType: 'API_KEY' }],
    ]);
  });

  it('finishes a move that crashed after leaving the old plan', async () => {
    api.on(DeleteUsagePlanKeyCommand).rejects(notFound('Invalid Usage Plan Key identifier specified'));
    api.on(CreateUsagePlanKeyCommand).resolves({ id: KEY.id });
    await expect(moveApiKey(move)).resolves.toBeUndefined();
    expect(api.commandCalls(CreateUsagePlanKeyCommand, { usagePlanId: 'plan-standard' })).toHaveLength(1);
  });

  it('is a no-op when repeated after it completed', async () => {
    api.on(DeleteUsagePlanKeyCommand).rejects(notFound('Invalid Usage Plan Key identifier specified'));
    api.on(CreateUsagePlanKeyCommand).rejects(conflict('Usage Plan Key already exists'));
    api.on(GetUsagePlansCommand).resolves({ items: [{ id: 'plan-standard' }] });
    await expect(moveApiKey(move)).resolves.toBeUndefined();
    // Nothing was put back into the old plan.
    expect(api.commandCalls(CreateUsagePlanKeyCommand, { usagePlanId: 'plan-basic' })).toEqual([]);
  });

  it('moves between plans of different cell APIs the same way', async () => {
    api.on(DeleteUsagePlanKeyCommand).resolves({});
    api.on(CreateUsagePlanKeyCommand).resolves({ id: KEY.id });
    await moveApiKey({ apiKeyId: KEY.id, fromUsagePlanId: 'cell-1-basic', toUsagePlanId: 'cell-2-basic' });
    expect(sent().map(([name, input]) => [name, (input as { usagePlanId: string }).usagePlanId])).toEqual([
      ['DeleteUsagePlanKeyCommand', 'cell-1-basic'],
      ['CreateUsagePlanKeyCommand', 'cell-2-basic'],
    ]);
  });

  it('puts the key back into the old plan when the new plan refuses it, and reports the failure', async () => {
    const refused = notFound('Invalid Usage Plan ID specified');
    api.on(DeleteUsagePlanKeyCommand).resolves({});
    api.on(CreateUsagePlanKeyCommand, { usagePlanId: 'plan-standard' }).rejects(refused);
    api.on(CreateUsagePlanKeyCommand, { usagePlanId: 'plan-basic' }).resolves({ id: KEY.id });
    await expect(moveApiKey(move)).rejects.toBe(refused);
    expect(sent().map(([name, input]) => [name, (input as { usagePlanId: string }).usagePlanId])).toEqual([
      ['DeleteUsagePlanKeyCommand', 'plan-basic'],
      ['CreateUsagePlanKeyCommand', 'plan-standard'],
      ['CreateUsagePlanKeyCommand', 'plan-basic'],
    ]);
  });
});
