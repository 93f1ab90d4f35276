import type { APIGatewayAuthorizerResult } from 'aws-lambda';

/**
 * An authorizer policy for the whole API stage (`<api>/<stage>/*`), not just the method called:
 * API Gateway caches the decision per token, and a method-scoped Allow would be replayed as a
 * 403 on the caller's next, different route.
 */
export function stagePolicy(methodArn: string, effect: 'Allow' | 'Deny'): APIGatewayAuthorizerResult['policyDocument'] {
  // arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<resource path…>
  const [apiArn, stage] = methodArn.split('/') as [string, string];
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: `${apiArn}/${stage}/*` }],
  };
}
