/**
 * Per-tenant API keys (DESIGN §2): every tenant has its own key on its tier's usage plan, so
 * throttling and quotas are per tenant, not per tier. Clients never see the key — the authorizer
 * returns it as `usageIdentifierKey`.
 *
 * Every call here may be repeated: onboarding and tier changes resume after a crash by re-running
 * the unfinished step, so each verb converges on its end state instead of failing on a second run.
 */
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  FlushStageAuthorizersCacheCommand,
  GetApiKeysCommand,
  GetUsagePlansCommand,
} from '@aws-sdk/client-api-gateway';

let client: APIGatewayClient | undefined;
function apiGateway(): APIGatewayClient {
  client ??= new APIGatewayClient({});
  return client;
}

export interface TenantApiKey {
  apiKeyId: string;
  value: string;
}

/** Keys are found again by this name, so it must stay derivable from the tenant id alone. */
function keyName(tenantId: string): string {
  return `tenant-${tenantId}`;
}

/** GetApiKeys' largest page: a name query rarely matches more than one key, so one page is the norm. */
const API_KEYS_PAGE_SIZE = 500;

function isApiGatewayError(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}

async function createKey(tenantId: string): Promise<TenantApiKey> {
  const key = await apiGateway().send(
    new CreateApiKeyCommand({
      name: keyName(tenantId),
      description: `Usage identifier of tenant ${tenantId}`,
      enabled: true,
      tags: { tenant: tenantId },
    }),
  );
  if (!key.id || !key.value) throw new Error('API Gateway returned an API key without id or value');
  return { apiKeyId: key.id, value: key.value };
}

/** Whether `apiKeyId` is a member of `usagePlanId` (GetUsagePlans filtered by key, all pages). */
async function isInUsagePlan(apiKeyId: string, usagePlanId: string): Promise<boolean> {
  let position: string | undefined;
  do {
    const page = await apiGateway().send(new GetUsagePlansCommand({ keyId: apiKeyId, limit: API_KEYS_PAGE_SIZE, position }));
    if (page.items?.some((plan) => plan.id === usagePlanId)) return true;
    position = page.position;
  } while (position);
  return false;
}

/**
 * Adds a key to a usage plan; already being a member is success. API Gateway answers
 * ConflictException both for "already in this plan" and for "already in another plan of the same
 * API stage", so a conflict is settled by asking which plans hold the key — the second case is a
 * real error (the key would be metered by the wrong tier) and is rethrown.
 */
async function joinUsagePlan(apiKeyId: string, usagePlanId: string): Promise<void> {
  try {
    await apiGateway().send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId: apiKeyId, keyType: 'API_KEY' }));
  } catch (error) {
    if (isApiGatewayError(error, 'ConflictException') && (await isInUsagePlan(apiKeyId, usagePlanId))) return;
    throw error;
  }
}

/** Removes a key from a usage plan; not being a member (any more) is success. */
async function leaveUsagePlan(apiKeyId: string, usagePlanId: string): Promise<void> {
  try {
    await apiGateway().send(new DeleteUsagePlanKeyCommand({ usagePlanId, keyId: apiKeyId }));
  } catch (error) {
    if (!isApiGatewayError(error, 'NotFoundException')) throw error;
  }
}

/**
 * The tenant's API key, found by its exact name (`tenant-<id>`), value included; `undefined` when
 * the tenant has none. API Gateway's name query is a prefix match (`tenant-t-1` also finds
 * `tenant-t-10`), so every page is read and only an exact name counts.
 */
export async function findTenantApiKey(tenantId: string): Promise<TenantApiKey | undefined> {
  const name = keyName(tenantId);
  let position: string | undefined;
  do {
    const page = await apiGateway().send(new GetApiKeysCommand({ nameQuery: name, includeValues: true, limit: API_KEYS_PAGE_SIZE, position }));
    const key = page.items?.find((item) => item.name === name);
    if (key) {
      if (!key.id || !key.value) throw new Error('API Gateway listed an API key without id or value');
      return { apiKeyId: key.id, value: key.value };
    }
    position = page.position;
  } while (position);
  return undefined;
}

/**
 * The tenant's one API key, on `usagePlanId`: the key an earlier (possibly crashed) attempt
 * created is reused, so retries never mint a second key; otherwise it is created. Safe to repeat.
 */
export async function ensureTenantApiKey(input: { tenantId: string; usagePlanId: string }): Promise<TenantApiKey> {
  const key = (await findTenantApiKey(input.tenantId)) ?? (await createKey(input.tenantId));
  await joinUsagePlan(key.apiKeyId, input.usagePlanId);
  return key;
}

/**
 * Drops every cached authorizer decision of a cell's API stage, so a suspension or reactivation
 * applies to the tenant's very next request instead of after the cache TTL.
 */
export async function flushAuthorizerCache(input: { apiId: string; stage: string }): Promise<void> {
  await apiGateway().send(new FlushStageAuthorizersCacheCommand({ restApiId: input.apiId, stageName: input.stage }));
}

/** Deletes a tenant's key (which also detaches it from its usage plans). A key already gone is done. */
export async function deleteApiKey(apiKeyId: string): Promise<void> {
  try {
    await apiGateway().send(new DeleteApiKeyCommand({ apiKey: apiKeyId }));
  } catch (error) {
    if (!isApiGatewayError(error, 'NotFoundException')) throw error;
  }
}

/**
 * Moves a tenant's key from one usage plan to another: a tier change, or a move to another cell
 * (plans of different cell APIs — keys are regional, not per API). A key may sit in only one plan
 * per API stage, so it leaves the old plan first; if joining the new plan fails, it goes back.
 * Safe to repeat: a key no longer in the old plan, or already in the new one, is where it belongs.
 */
export async function moveApiKey(input: { apiKeyId: string; fromUsagePlanId: string; toUsagePlanId: string }): Promise<void> {
  await leaveUsagePlan(input.apiKeyId, input.fromUsagePlanId);
  try {
    await joinUsagePlan(input.apiKeyId, input.toUsagePlanId);
  } catch (error) {
    await joinUsagePlan(input.apiKeyId, input.fromUsagePlanId);
    throw error;
  }
}

/**
 * Puts a tenant's key on one more usage plan (the plan of its new cell, after a move). Keys are
 * regional, so a key can sit on one plan per cell API; already there is done.
 */
export async function attachToUsagePlan(input: { apiKeyId: string; usagePlanId: string }): Promise<void> {
  await joinUsagePlan(input.apiKeyId, input.usagePlanId);
}

/** Takes a tenant's key off a usage plan (a cell the tenant left); not there is done. */
export async function detachFromUsagePlan(input: { apiKeyId: string; usagePlanId: string }): Promise<void> {
  await leaveUsagePlan(input.apiKeyId, input.usagePlanId);
}
