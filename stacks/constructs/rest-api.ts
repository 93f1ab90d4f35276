import * as apig from 'aws-cdk-lib/aws-apigateway';
import { LOG_RETENTION_SST } from './functions.js';

/**
 * One JSON line per request. Tenant, cell, tier and API key id come from the authorizer, so every
 * throttled or failed request can be traced to the tenant it belongs to (DESIGN §3).
 */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '"$context.requestId"',
  requestTime: '"$context.requestTime"',
  // Milliseconds (requestTime has whole seconds): the moment core's metering counts the request in.
  requestTimeEpoch: '$context.requestTimeEpoch',
  httpMethod: '"$context.httpMethod"',
  resourcePath: '"$context.resourcePath"',
  path: '"$context.path"',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationLatency: '"$context.integration.latency"',
  tenantId: '"$context.authorizer.tenantId"',
  cellId: '"$context.authorizer.cellId"',
  tier: '"$context.authorizer.tier"',
  principalId: '"$context.authorizer.principalId"',
  apiKeyId: '"$context.identity.apiKeyId"',
  errorType: '"$context.error.responseType"',
  authorizerError: '"$context.authorizer.error"',
  integrationError: '"$context.integration.error"',
  sourceIp: '"$context.identity.sourceIp"',
  userAgent: '"$context.identity.userAgent"',
  xrayTraceId: '"$context.xrayTraceId"',
};

export const ACCESS_LOG_FORMAT = `{${Object.entries(ACCESS_LOG_FIELDS)
  .map(([name, value]) => `"${name}":${value}`)
  .join(',')}}`;

/**
 * The REST API settings both planes share: regional endpoint (CloudFront is the router in front),
 * execution errors and access logs in CloudWatch, X-Ray, and no CORS (clients reach every API
 * through the router's single origin).
 */
export function restApiSettings(restApiName: string) {
  return {
    cors: false,
    accessLog: { format: ACCESS_LOG_FORMAT, retention: LOG_RETENTION_SST },
    restApi: {
      restApiName,
      endpointConfiguration: { types: [apig.EndpointType.REGIONAL] },
      // The account-wide API Gateway → CloudWatch Logs role is created once, by the control plane.
      cloudWatchRole: false,
      deployOptions: {
        loggingLevel: apig.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
      },
    } satisfies apig.RestApiProps,
  };
}
