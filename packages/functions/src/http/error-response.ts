import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError, TransientDomainError } from '@cellbook/core';
import { logger, metrics } from '../observability.js';
import { toProxyResult } from './responses.js';

/** Stable error code → HTTP status (DESIGN §5). Anything unmapped is a 500. */
const STATUS_BY_CODE: Record<string, number> = {
  MALFORMED_REQUEST: 400,
  INVALID_CURSOR: 400,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NEW_PASSWORD_REQUIRED: 403,
  FEATURE_NOT_ENTITLED: 403,
  CASE_NOT_FOUND: 404,
  TENANT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CELL_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  INVALID_STATUS_TRANSITION: 409,
  CONCURRENT_MODIFICATION: 409,
  USER_ALREADY_EXISTS: 409,
  TENANT_NAME_TAKEN: 409,
  TENANT_NOT_ACTIVATED: 409,
  TIER_CHANGE_NEEDS_MOVE: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  MOVE_IN_PROGRESS: 409,
  CELL_NOT_DEPLOYED: 409,
  TENANT_NOT_SUSPENDED: 409,
  ONBOARDING_IN_PROGRESS: 409,
  INVALID_MOVE: 422,
  REQUEST_IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  ASSIGNEE_NOT_FOUND: 422,
  ENTITLEMENT_LIMIT_REACHED: 429,
  TOO_MANY_FAILED_ATTEMPTS: 429,
  NO_CELL_CAPACITY: 503,
  ROUTING_NOT_READY: 503,
  CELL_PROVISIONING: 503,
  TENANT_MOVING: 503,
  TENANT_MOVED: 503,
};

export function statusFor(code: string): number | undefined {
  return Object.hasOwn(STATUS_BY_CODE, code) ? STATUS_BY_CODE[code] : undefined;
}

/**
 * Maps domain errors to the error body `{error:{code,message,details?},requestId}`. Anything else is
 * logged in full and answered with a generic 500: no stack, SDK message or ARN reaches a client.
 */
export function errorResponse(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const { error } = request;
      const requestId = request.event.requestContext?.requestId ?? request.context.awsRequestId;
      const status = error instanceof DomainError ? statusFor(error.code) : undefined;
      if (error instanceof DomainError && status !== undefined) {
        logger.info('request rejected', { code: error.code, status });
        metrics.addMetric('ClientError', 'Count', 1);
        request.response = toProxyResult({
          statusCode: status,
          ...(error instanceof TransientDomainError ? { headers: { 'Retry-After': String(error.retryAfterSeconds) } } : {}),
          body: {
            error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
            requestId,
          },
        });
        return;
      }
      logger.error('request failed', error as Error);
      metrics.addMetric('ServerError', 'Count', 1);
      request.response = toProxyResult({
        statusCode: 500,
        body: { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' }, requestId },
      });
    },
  };
}
