import * as apig from 'aws-cdk-lib/aws-apigateway';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { ApiGatewayV1Api, Function as SstFunction, type ApiGatewayV1ApiFunctionRouteProps, type App, type Stack } from 'sst/constructs';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '@cellbook/core/tenancy/tiers';
import { CELL_AUTHORIZER, CELL_ROUTES } from '@cellbook/functions/routes';
import { handlerProps } from './functions.js';
import { addGatewayResponses } from './gateway-responses.js';
import { restApiSettings } from './rest-api.js';
import { resourceName } from './stage.js';

/**
 * What API Gateway lets through to a public route per second (stage method throttling). The health
 * check is called by the control plane's routing probe — a few calls per onboarding or move — and
 * by monitoring; usage plans cannot meter it, as it carries no API key.
 */
const PUBLIC_ROUTE_THROTTLE = { throttlingRateLimit: 50, throttlingBurstLimit: 100 };

export interface CellApiProps {
  cellId: string;
  /** What every function of the cell but the public routes' reads from its environment. */
  cellEnvironment: Record<string, string>;
  authorizerRole: iam.Role;
  apiRole: iam.Role;
  publicRouteRole: iam.Role;
  tenantAccessRole: iam.IRole;
  /** Where the API handlers reach the control plane's identity broker. */
  identityBrokerUrl: string;
}

/**
 * The cell's REST API and its functions: one per route of core's route table, behind the tenant
 * authorizer and the tenant's API key, except the public routes (the health check), which carry
 * neither and get a stage throttle of their own.
 */
export function cellApi(stack: Stack, app: App, props: CellApiProps) {
  const { cellId, cellEnvironment, authorizerRole, apiRole, publicRouteRole, tenantAccessRole, identityBrokerUrl } = props;
  // SST wants construct ids unique across the whole app (they name SSM bindings): suffix the cell.
  const authorizer = new SstFunction(
    stack,
    `Authorizer-${cellId}`,
    handlerProps(stack, 'Authorizer', { handler: CELL_AUTHORIZER, role: authorizerRole, environment: cellEnvironment }),
  );
  const routes: Record<string, ApiGatewayV1ApiFunctionRouteProps<'tenant'>> = {};
  for (const route of CELL_ROUTES) {
    const id = `Route-${route.handler.replace(/\//g, '-')}`;
    routes[`${route.method} ${route.path}`] =
      route.auth === 'none'
        ? {
            // Public: no authorizer and no API key, so no tenant — and nothing of the cell but its id.
            function: handlerProps(stack, id, { handler: route.handler, role: publicRouteRole, environment: { CELL_ID: cellId } }),
            authorizer: 'none',
          }
        : {
            function: handlerProps(stack, id, {
              handler: route.handler,
              role: apiRole,
              environment: { ...cellEnvironment, TENANT_ROLE_ARN: tenantAccessRole.roleArn, IDENTITY_BROKER_URL: identityBrokerUrl },
            }),
            authorizer: 'tenant',
            // Every tenant call needs the tenant's API key, which the authorizer supplies (usageIdentifierKey).
            cdk: { method: { apiKeyRequired: true } },
          };
  }
  const publicRoutes = CELL_ROUTES.filter((route) => route.auth === 'none');
  const settings = restApiSettings(resourceName(app, cellId));
  const api = new ApiGatewayV1Api(stack, `Api-${cellId}`, {
    cors: settings.cors,
    accessLog: settings.accessLog,
    authorizers: {
      tenant: {
        type: 'lambda_request',
        function: authorizer,
        identitySources: [apig.IdentitySource.header('Authorization')],
        // Same TTL as the local gateway's cache, so a suspension takes effect equally fast.
        resultsCacheTtl: `${AUTHORIZER_CACHE_TTL_SECONDS} seconds`,
      },
    },
    routes,
    cdk: {
      restApi: {
        ...settings.restApi,
        apiKeySourceType: apig.ApiKeySourceType.AUTHORIZER,
        deployOptions: {
          ...settings.restApi.deployOptions,
          // Usage plans meter only keyed calls: the public routes get a stage throttle of their own.
          methodOptions: Object.fromEntries(
            publicRoutes.map((route) => [`${route.path}/${route.method}`, { ...PUBLIC_ROUTE_THROTTLE, loggingLevel: settings.restApi.deployOptions.loggingLevel }]),
          ),
        },
      },
    },
  });
  const restApi = api.cdk.restApi;
  addGatewayResponses(restApi);
  return { authorizer, api, restApi, publicRoutes };
}
