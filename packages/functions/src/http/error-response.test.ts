import type { Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as Errors from '@cellbook/core/shared/errors';
import { everyDomainError } from '@cellbook/core/shared/errors.fixture';
import { beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../observability.js';
import { errorResponse } from './error-response.js';

/**
 * The code → status table as clients have been answered since DESIGN §5. Written down before the
 * statuses moved onto the errors themselves, so that move (and any later one) cannot change an
 * answer unnoticed; a new error code must be added here on purpose.
 */
const ANSWERED_STATUS: Record<string, number> = {
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
  RELEASE_NOT_FOUND: 404,
  EVIDENCE_NOT_FOUND: 404,
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
  REQUEST_IN_PROGRESS: 409,
  RELEASE_IN_PROGRESS: 409,
  RELEASE_ALREADY_STARTED: 409,
  RELEASE_ALREADY_RUNNING: 409,
  RELEASE_NOT_ACTIVE: 409,
  EVIDENCE_NOT_UPLOADED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  ASSIGNEE_NOT_FOUND: 422,
  INVALID_RELEASE_PLAN: 422,
  INVALID_MOVE: 422,
  EVIDENCE_TYPE_NOT_ALLOWED: 422,
  EVIDENCE_TOO_LARGE: 422,
  EVIDENCE_MISMATCH: 422,
  LAST_ADMIN: 409,
  OWN_ACCOUNT: 409,
  INVALID_GRANT: 400,
  EXPORT_IN_PROGRESS: 409,
  EXPORT_NOT_FOUND: 404,
  ENTITLEMENT_LIMIT_REACHED: 403,
  TOO_MANY_FAILED_ATTEMPTS: 429,
  NO_CELL_CAPACITY: 503,
  ROUTING_NOT_READY: 503,
  CELL_PROVISIONING: 503,
  TENANT_MOVING: 503,
  TENANT_MOVED: 503,
  AUDIT_UNAVAILABLE: 503,
};

/** Every concrete domain error core exports (the abstract bases have no code of their own). */
const domainErrors = everyDomainError('a message for the client');

async function answer(error: Error): Promise<APIGatewayProxyResult> {
  const request = {
    event: { requestContext: { requestId: 'req-1' } } as APIGatewayProxyEvent,
    context: { awsRequestId: 'aws-1' } as Context,
    response: undefined,
    error,
    internal: {},
  } as unknown as Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;
  await errorResponse().onError!(request);
  return request.response!;
}

describe('errorResponse', () => {
  beforeAll(() => {
    // Every case below logs its error on purpose; the lines would only bury the test report.
    logger.setLogLevel('SILENT');
  });

  it('knows every domain error core exports (the table above is complete)', () => {
    expect(domainErrors.length).toBeGreaterThan(30);
    expect(new Set(domainErrors.map(([, error]) => error.code))).toEqual(new Set(Object.keys(ANSWERED_STATUS)));
  });

  it.each(domainErrors)('answers %s with the status its code has always had, its code and its message', async (_name, error) => {
    const response = await answer(error);
    expect(response.statusCode).toBe(ANSWERED_STATUS[error.code]);
    expect(JSON.parse(response.body)).toEqual({ error: { code: error.code, message: error.message }, requestId: 'req-1' });
  });

  it('sends Retry-After with a transient error, and only then', async () => {
    const moving = await answer(new Errors.TenantMoving());
    expect(moving.headers?.['Retry-After']).toBe('2');
    const notFound = await answer(new Errors.CaseNotFound());
    expect(notFound.headers?.['Retry-After']).toBeUndefined();
  });

  it('answers the details of a validation failure', async () => {
    const response = await answer(new Errors.ValidationFailed('The request is not valid.', { details: [{ path: 'title', message: 'Required' }] }));
    expect(response.statusCode).toBe(422);
    expect(JSON.parse(response.body).error.details).toEqual([{ path: 'title', message: 'Required' }]);
  });

  it('answers anything that is not a domain error with a generic 500 that shows nothing of it', async () => {
    const response = await answer(new Error('arn:aws:dynamodb:eu-west-1:123456789012:table/secret throttled'));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' }, requestId: 'req-1' });
  });
});
