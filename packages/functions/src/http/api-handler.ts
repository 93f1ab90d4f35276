import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { TenantMoved } from '@cellbook/core/shared/errors';
import { withRequestUsage } from '@cellbook/core/metering/meter';
import { withTenant, type TenantContext } from '@cellbook/core/tenancy/tenant-context';
import { decodeOperatorContext, decodeTenantContext, type OperatorContext } from '../auth/authorizer-context.js';
import { logger, metrics } from '../observability.js';
import { audited, type AuditDeclaration } from './audit-trail.js';
import { errorResponse } from './error-response.js';
import { readRequest, type ApiRequest } from './request.js';
import { toProxyResult, type ApiResponse } from './responses.js';
import { usageLine, type MeteredContext } from './usage-line.js';

export type TenantRoute = (request: ApiRequest) => Promise<ApiResponse>;
export type OperatorRoute = (request: ApiRequest, operator: OperatorContext) => Promise<ApiResponse>;

type ApiHandler = middy.MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;
interface TenantLambdaContext extends MeteredContext {
  tenant: TenantContext;
}

/** The shared stack; `outer` middlewares sit outside `errorResponse`, so they see the answer a failed request got. */
function baseStack<C extends Context>(...outer: MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, C>[]) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, C>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(outer)
    .use(errorResponse());
}

/**
 * Resolves the tenant once per request, from the authorizer's context only — never from the path,
 * query, body or headers — and tags every log line and metric with it.
 */
function tenantContext(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, TenantLambdaContext> {
  return {
    before: (request) => {
      const tenant = decodeTenantContext(request.event.requestContext.authorizer);
      request.context.tenant = tenant;
      logger.appendKeys({
        tenant_id: tenant.tenantId,
        tier: tenant.tier,
        cell_id: tenant.cellId,
        request_id: request.event.requestContext.requestId,
      });
      metrics.addDimensions({ tier: tenant.tier, cell: tenant.cellId });
      metrics.addMetadata('tenant_id', tenant.tenantId);
      if (request.event.requestContext.authorizer?.movedTo) throw new TenantMoved();
    },
  };
}

export interface TenantApiOptions {
  /** What the route does, for the tenant's audit trail (audit-trail.ts); every request to it is recorded. */
  audit?: AuditDeclaration;
}

/** A tenant route's handler, with its audit declaration for the check that no route is left out. */
export type TenantApiHandler = ApiHandler & { readonly audit: AuditDeclaration | null };

/**
 * A data-plane route: runs inside the caller's tenant context, metered (one usage line per request,
 * failed ones included; see usage-line.ts), and recorded in the tenant's audit trail when it
 * declares `audit` (a request whose body cannot even be read is recorded too, as failed).
 */
export function tenantApi(route: TenantRoute, options: TenantApiOptions = {}): TenantApiHandler {
  const handler = baseStack<TenantLambdaContext>(usageLine() as MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, TenantLambdaContext>)
    .use(tenantContext())
    .handler(async (event, context) => {
      const { usage } = context;
      const run = () => audited(options.audit, event, () => route(readRequest(event)));
      const response = await withTenant(context.tenant, () => (usage ? withRequestUsage(usage, run) : run()));
      metrics.addMetric('ApiRequest', 'Count', 1);
      return toProxyResult(response);
    }) as unknown as ApiHandler;
  return Object.assign(handler, { audit: options.audit ?? null });
}

/** A control-plane route for operators: system scope, the actor named on every log line. */
export function operatorApi(route: OperatorRoute): ApiHandler {
  return baseStack<Context>().handler(async (event) => {
    const operator = decodeOperatorContext(event.requestContext.authorizer);
    logger.appendKeys({ actor: operator.username, request_id: event.requestContext.requestId, scope: 'system' });
    const response = await route(readRequest(event), operator);
    metrics.addMetric('ApiRequest', 'Count', 1);
    return toProxyResult(response);
  });
}

/** The caller of an IAM-authorized route, as API Gateway verified its SigV4 signature. */
export interface IamCaller {
  userArn: string | null;
}
export type IamRoute = (request: ApiRequest, caller: IamCaller) => Promise<ApiResponse>;

/**
 * A control-plane route called by other AWS principals (the identity broker, called by the cells
 * as their tenant sessions): API Gateway has verified the signature and the caller's IAM
 * permission; the route reads who called from the request context, never from the request.
 */
export function iamApi(route: IamRoute): ApiHandler {
  return baseStack<Context>().handler(async (event) => {
    const userArn = event.requestContext.identity?.userArn ?? null;
    logger.appendKeys({ caller: userArn, request_id: event.requestContext.requestId, scope: 'system' });
    const response = await route(readRequest(event), { userArn });
    metrics.addMetric('ApiRequest', 'Count', 1);
    return toProxyResult(response);
  });
}

/** An unauthenticated route (sign-in). */
export function publicApi(route: TenantRoute): ApiHandler {
  return baseStack<Context>().handler(async (event) => {
    logger.appendKeys({ request_id: event.requestContext.requestId, scope: 'public' });
    return toProxyResult(await route(readRequest(event)));
  });
}
