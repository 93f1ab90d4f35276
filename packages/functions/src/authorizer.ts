/**
 * The cell's REQUEST authorizer. Identity comes only from the verified token; the tenant must be
 * ACTIVE and placed in this cell. On success API Gateway gets the tenant context for the handlers
 * and the tenant's own API key as `usageIdentifierKey`, which selects its usage plan.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import * as Tenant from '@cellbook/core/tenants/tenant';
import * as UserStanding from '@cellbook/core/users/user-standing';
import { requireEnv } from '@cellbook/core/shared/config';
import { encodeTenantContext } from './auth/authorizer-context.js';
import { stagePolicy } from './auth/policy.js';
import { verifyAccessToken } from './auth/verify-token.js';
import { logger } from './observability.js';

// No tenant cache here: API Gateway already caches each decision per token, and the control plane
// flushes that cache when a tenant's status changes. A second cache would outlive the flush.
/** API Gateway turns exactly this error message into its 401 response. */
const UNAUTHORIZED = 'Unauthorized';

export const handler = middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const token = await verifyAccessToken(event.headers?.Authorization ?? event.headers?.authorization, 'tenant');
    if (!token?.tenant_id) {
      logger.info('token rejected');
      throw new Error(UNAUTHORIZED);
    }
    logger.appendKeys({ tenant_id: token.tenant_id, user_id: token.sub });
    // The user's standing, as the tenant's status, is read on every uncached request: the broker
    // flushes this cell's cache when a user is removed, signed out or given another role.
    const [tenant, standing] = await Promise.all([Tenant.getRecord(token.tenant_id), UserStanding.standingOf(token.tenant_id, token.sub, token.iat)]);
    if (!tenant) {
      logger.info('token names an unknown tenant');
      throw new Error(UNAUTHORIZED);
    }
    if (!standing.valid) {
      logger.info('token revoked (user removed or signed out)');
      throw new Error(UNAUTHORIZED);
    }
    const cellId = requireEnv('CELL_ID');
    const context = encodeTenantContext({
      tenantId: tenant.tenantId,
      tier: tenant.tier,
      cellId,
      userId: token.sub,
      username: token.username,
      roles: standing.roles ?? token.roles,
      overrides: tenant.overrides ?? {},
    });
    // A tenant that has just moved away: its requests still arriving here (a route not yet updated)
    // are let through to be answered `TENANT_MOVED` with Retry-After, which a client can act on.
    const movedAway = tenant.status === 'ACTIVE' && tenant.cellId !== cellId && tenant.previousCellId === cellId;
    if (movedAway && tenant.apiKeyValue) {
      logger.info('tenant moved away', { placed_in: tenant.cellId });
      return {
        principalId: token.sub,
        policyDocument: stagePolicy(event.methodArn, 'Allow'),
        context: { ...context, movedTo: tenant.cellId ?? '' },
        usageIdentifierKey: tenant.apiKeyValue,
      };
    }
    if (tenant.status !== 'ACTIVE' || tenant.cellId !== cellId || !tenant.apiKeyValue) {
      logger.info('tenant denied', { status: tenant.status, placed_in: tenant.cellId });
      return { principalId: token.sub, policyDocument: stagePolicy(event.methodArn, 'Deny') };
    }
    logger.appendKeys({ tier: tenant.tier, cell_id: cellId });
    return { principalId: token.sub, policyDocument: stagePolicy(event.methodArn, 'Allow'), context, usageIdentifierKey: tenant.apiKeyValue };
  });
