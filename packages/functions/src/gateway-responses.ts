/**
 * API Gateway's own responses (not produced by any function), as DESIGN §5 fixes them. The Cell
 * stack configures these as GatewayResponses; the local gateway answers with the same bodies.
 */
export interface GatewayResponse {
  statusCode: number;
  body: { message: string | null };
}

export const GATEWAY_RESPONSES = {
  UNAUTHORIZED: { statusCode: 401, body: { message: 'Unauthorized' } },
  ACCESS_DENIED: { statusCode: 403, body: { message: 'Forbidden' } },
  INVALID_API_KEY: { statusCode: 403, body: { message: 'Forbidden' } },
  THROTTLED: { statusCode: 429, body: { message: 'Too Many Requests' } },
  QUOTA_EXCEEDED: { statusCode: 429, body: { message: 'Limit Exceeded' } },
  // API Gateway's default for an unknown route is 403 "Missing Authentication Token"; we configure a 404.
  MISSING_AUTHENTICATION_TOKEN: { statusCode: 404, body: { message: 'Not Found' } },
  REQUEST_TOO_LARGE: { statusCode: 413, body: { message: 'Request Too Long' } },
  AUTHORIZER_FAILURE: { statusCode: 500, body: { message: null } },
  INTEGRATION_FAILURE: { statusCode: 502, body: { message: 'Internal server error' } },
  INTEGRATION_TIMEOUT: { statusCode: 504, body: { message: 'Endpoint request timed out' } },
} as const satisfies Record<string, GatewayResponse>;

export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;
