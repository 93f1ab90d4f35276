import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError, TransientDomainError } from '@cellbook/core/shared/errors';
import { logger, metrics } from '../observability.js';
import { toProxyResult } from './responses.js';

/**
 * Answers a domain error with the status it declares and the body `{error:{code,message,details?},requestId}`.
 * Anything else is logged in full and answered with a generic 500: no stack, SDK message, ARN or
 * `cause` reaches a client.
 */
export function errorResponse(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const { error } = request;
      const requestId = request.event.requestContext?.requestId ?? request.context.awsRequestId;
      if (error instanceof DomainError) {
        const { code, status } = error;
        logger.info('request rejected', { code, status });
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
