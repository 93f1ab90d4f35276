import * as apig from 'aws-cdk-lib/aws-apigateway';
import { GATEWAY_RESPONSES, type GatewayResponseType } from '@cellbook/functions/gateway-responses';

/**
 * API Gateway's own answers (401, 403, 429, …) with exactly the bodies the local gateway sends, so
 * a client cannot tell the two worlds apart by an error.
 */
export function addGatewayResponses(api: apig.RestApi): void {
  for (const [type, response] of Object.entries(GATEWAY_RESPONSES) as [GatewayResponseType, (typeof GATEWAY_RESPONSES)[GatewayResponseType]][]) {
    api.addGatewayResponse(`GatewayResponse${type}`, {
      type: apig.ResponseType.of(type),
      statusCode: String(response.statusCode),
      templates: { 'application/json': JSON.stringify(response.body) },
    });
  }
}
