import * as apig from 'aws-cdk-lib/aws-apigateway';
import { NagSuppressions } from 'cdk-nag';
import { ApiGatewayV1Api, Function as SstFunction, type ApiGatewayV1ApiFunctionRouteProps, type App, type Stack } from 'sst/constructs';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '@cellbook/core/tenancy/tiers';
import { controlIdentityOf } from '@cellbook/core/access/control-identities';
import { CONTROL_ROUTES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { functionRole, handlerProps } from '../constructs/functions.js';
import { addGatewayResponses } from '../constructs/gateway-responses.js';
import { PINNED_RUNTIME, XRAY_WILDCARD } from '../constructs/nag.js';
import { restApiSettings } from '../constructs/rest-api.js';
import { suppressApiFindings } from '../constructs/rest-api-findings.js';
import { resourceName } from '../constructs/stage.js';
import type { ControlIdentities } from './control-identities.js';

/** The one control route that is public: it is how an operator gets a token. */
const SIGN_IN_HANDLER = 'control/auth-token';

export interface OperatorApiProps {
  identities: ControlIdentities;
  /** The operator directory's ids and issuer: the only tokens the operator authorizer accepts. */
  operatorIdentityEnvironment: Record<string, string>;
}

/**
 * The control plane's REST API (`CONTROL_ROUTES`): operator routes behind a Lambda REQUEST
 * authorizer that accepts only operator-pool tokens, the public sign-in route, and the identity
 * broker's IAM-authorized routes, which the cells' tenant sessions call (DESIGN §13). Each route's
 * function runs under its control identity's role; API Gateway's own answers match the local
 * gateway's.
 */
export function operatorApi(stack: Stack, app: App, props: OperatorApiProps) {
  const { identities } = props;
  const operatorAuthorizerRole = functionRole(stack, 'OperatorAuthorizerRole', 'Operator authorizer: verifies tokens, no AWS access');
  const operatorAuthorizer = new SstFunction(
    stack,
    'OperatorAuthorizer',
    handlerProps(stack, 'OperatorAuthorizer', {
      handler: OPERATOR_AUTHORIZER,
      role: operatorAuthorizerRole,
      // The operator directory only: a tenant pool token never verifies here.
      environment: props.operatorIdentityEnvironment,
    }),
  );
  const routes: Record<string, ApiGatewayV1ApiFunctionRouteProps<'operator'>> = {};
  for (const route of CONTROL_ROUTES) {
    const identity = controlIdentityOf(route.handler);
    const id = `Control-${route.handler.replace(/^control\//, '')}`;
    routes[`${route.method} ${route.path}`] = {
      function: handlerProps(stack, id, { handler: route.handler, role: identities.roles[identity], environment: identities.environmentOf(identity) }),
      // `iam`: the identity broker's routes, invoked by cells' tenant sessions (SigV4, execute-api:Invoke).
      authorizer: route.auth === 'operator' ? 'operator' : route.auth === 'iam' ? 'iam' : 'none',
    };
  }
  const settings = restApiSettings(resourceName(app, 'control'));
  const api = new ApiGatewayV1Api(stack, 'ControlApi', {
    cors: settings.cors,
    accessLog: settings.accessLog,
    authorizers: {
      operator: {
        type: 'lambda_request',
        function: operatorAuthorizer,
        identitySources: [apig.IdentitySource.header('Authorization')],
        resultsCacheTtl: `${AUTHORIZER_CACHE_TTL_SECONDS} seconds`,
      },
    },
    routes,
    cdk: { restApi: settings.restApi },
  });
  const restApi = api.cdk.restApi;
  addGatewayResponses(restApi);

  NagSuppressions.addResourceSuppressions(operatorAuthorizerRole, [XRAY_WILDCARD], true);
  for (const construct of [api, operatorAuthorizer]) NagSuppressions.addResourceSuppressions(construct, [PINNED_RUNTIME], true);
  suppressApiFindings(
    restApi,
    CONTROL_ROUTES.filter((route) => route.auth === 'none' && route.handler === SIGN_IN_HANDLER).map((route) => {
      const key = `${route.method} ${route.path}`;
      return {
        route: key,
        reason: `${key} is the sign-in endpoint: it is how a caller obtains a token, so it cannot require one. Cognito rate-limits InitiateAuth, and unknown users and wrong passwords get the same answer.`,
      };
    }),
  );
  return { api, restApi };
}
