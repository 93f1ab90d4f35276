import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  FlushStageAuthorizersCacheCommand,
} from '@aws-sdk/client-api-gateway';

/**
 * Per-tenant API keys (DESIGN §2): every tenant has its own key on its tier's usage plan, so
 * throttling and quotas are per tenant, not per tier. Clients never see the key — the authorizer
 * returns it as `usageIdentifierKey`.
 */
let client: APIGatewayClient | undefined;
function apiGateway(): APIGatewayClient {
  client ??= new APIGatewayClient({});
  return client;
}

export interface TenantApiKey {
  apiKeyId: string;
  value: string;
}

export async function createTenantApiKey(input: { tenantId: string; usagePlanId: string }): Promise<TenantApiKey> {
  const key = await apiGateway().send(
    new CreateApiKeyCommand({
      name: `tenant-${input.tenantId}`,
      description: `Usage identifier of tenant ${input.tenantId}`,
      enabled: true,
      tags: { tenant: input.tenantId },
    }),
  );
  if (!key.id || !key.value) throw new Error('API Gateway returned an API key without id or value');
  await apiGateway().send(new CreateUsagePlanKeyCommand({ usagePlanId: input.usagePlanId, keyId: key.id, keyType: 'API_KEY' }));
  return { apiKeyId: key.id, value: key.value };
}

/**
 * Drops every cached authorizer decision of a cell's API stage, so a suspension or reactivation
 * applies to the tenant's very next request instead of after the cache TTL.
 */
export async function flushAuthorizerCache(input: { apiId: string; stage: string }): Promise<void> {
  await apiGateway().send(new FlushStageAuthorizersCacheCommand({ restApiId: input.apiId, stageName: input.stage }));
}

/** Deletes a tenant's key (which also detaches it from its usage plan). */
export async function deleteApiKey(apiKeyId: string): Promise<void> {
  await apiGateway().send(new DeleteApiKeyCommand({ apiKey: apiKeyId }));
}

/**
 * Moves a tenant's key from one usage plan to another (a tier change). A key may sit in only one
 * plan per API stage, so it leaves the old plan first; if joining the new plan fails, it goes back.
 */
export async function moveApiKey(input: { apiKeyId: string; fromUsagePlanId: string; toUsagePlanId: string }): Promise<void> {
  await apiGateway().send(new DeleteUsagePlanKeyCommand({ usagePlanId: input.fromUsagePlanId, keyId: input.apiKeyId }));
  try {
    await apiGateway().send(new CreateUsagePlanKeyCommand({ usagePlanId: input.toUsagePlanId, keyId: input.apiKeyId, keyType: 'API_KEY' }));
  } catch (error) {
    await apiGateway().send(new CreateUsagePlanKeyCommand({ usagePlanId: input.fromUsagePlanId, keyId: input.apiKeyId, keyType: 'API_KEY' }));
    throw error;
  }
}
