import * as apig from 'aws-cdk-lib/aws-apigateway';
import { NagSuppressions } from 'cdk-nag';

/** A method that is unauthenticated by design, and the reason a reviewer accepted. */
export interface PublicRoute {
  /** `METHOD /path`, as in the route tables. */
  route: string;
  reason: string;
}

/**
 * Findings every Cellbook REST API shares, and why each is accepted. `publicRoutes` are
 * unauthenticated by design, each with its own reason; any other method without an authorizer
 * stays a finding.
 */
export function suppressApiFindings(restApi: apig.RestApi, publicRoutes: readonly PublicRoute[] = []): void {
  NagSuppressions.addResourceSuppressions(
    restApi,
    [
      {
        id: 'AwsSolutions-APIG2',
        reason:
          "Requests are validated by the handlers with the zod schemas in core, so malformed input gets the application error contract (400/422, DESIGN §5) rather than API Gateway's generic body.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'The API is regional behind the CloudFront router; per-tenant rate and quota are enforced by usage plans. A WAF web ACL is an account-level choice (AWS Firewall Manager) left to the deployer.',
      },
    ],
    true,
  );
  for (const method of restApi.methods) {
    const route = `${method.httpMethod} ${method.resource.path}`;
    const authorizationType = (method.node.defaultChild as apig.CfnMethod).authorizationType;
    if (authorizationType === apig.AuthorizationType.CUSTOM) {
      NagSuppressions.addResourceSuppressions(method, [
        {
          id: 'AwsSolutions-COG4',
          reason:
            'A Lambda REQUEST authorizer verifies the Cognito access token (RS256, issuer, app client, token_use) and also resolves the tenant and its API key (usageIdentifierKey), which a COGNITO_USER_POOLS authorizer cannot return.',
        },
      ]);
    } else if (authorizationType === apig.AuthorizationType.IAM) {
      NagSuppressions.addResourceSuppressions(method, [
        {
          id: 'AwsSolutions-COG4',
          reason:
            "The identity broker's routes are called by the cells' tenant sessions, not by users: IAM authorizes them (SigV4, execute-api:Invoke fenced to the session's own tenant by aws:PrincipalTag/TenantId), and the broker checks the tenant's placement again.",
        },
      ]);
    } else {
      const reason = publicRoutes.find((candidate) => candidate.route === route)?.reason;
      if (reason === undefined) continue;
      NagSuppressions.addResourceSuppressions(method, [
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'AwsSolutions-COG4', reason },
      ]);
    }
  }
}
