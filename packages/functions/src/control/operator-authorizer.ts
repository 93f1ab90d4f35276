import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import * as Identity from '@cellbook/core/integrations/identity';
import { encodeOperatorContext } from '../auth/authorizer-context.js';
import { stagePolicy } from '../auth/policy.js';
import { verifyAccessToken } from '../auth/verify-token.js';
import { logger } from '../observability.js';

/** The control plane's authorizer: a verified token carrying the `operator` role. */
export const handler = middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const token = await verifyAccessToken(event.headers?.Authorization ?? event.headers?.authorization, 'operator');
    if (!token) throw new Error('Unauthorized');
    const isOperator = token.roles.includes(Identity.OPERATOR_ROLE) && token.tenant_id === undefined;
    logger.info(isOperator ? 'operator allowed' : 'non-operator denied', { actor: token.username });
    return {
      principalId: token.sub,
      policyDocument: stagePolicy(event.methodArn, isOperator ? 'Allow' : 'Deny'),
      ...(isOperator ? { context: encodeOperatorContext({ userId: token.sub, username: token.username, roles: token.roles }) } : {}),
    };
  });
