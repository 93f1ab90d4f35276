/**
 * The tenant audit trail's one rule (core tenant-audit/trail.ts), applied per route: a tenant route
 * declares what it does (`tenantApi(route, { audit: { action: 'case.read', target: 'case', id: { path: 'caseId' } } })`)
 * and this wrapper records every request to it — written ahead, completed with the outcome — for
 * tenants whose plan includes the audit log. Nothing in core calls the trail for a route.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DomainError } from '@cellbook/core/shared/errors';
import * as Trail from '@cellbook/core/tenant-audit/trail';
import type { ApiResponse } from './responses.js';

/** What a route does, for the tenant's audit trail. */
export interface AuditDeclaration {
  /** `<target>.<verb>`: `case.read`, `case.update`, `note.create`, `user.invite`, `evidence.download`… */
  action: string;
  /** What the request is about. */
  target: Trail.TargetType;
  /**
   * Where the target's id is: a path parameter (`{ path: 'caseId' }`), or a field of the response
   * body for a route that creates it (`{ response: 'caseId' }`). None for a listing.
   */
  id?: { path: string } | { response: string };
  /** The path parameter naming the case the target belongs to (notes, evidence). */
  caseIdPath?: string;
}

/** A path parameter as recorded: the client's text, bounded (it is what they asked for, even if no such object exists). */
function pathValue(event: APIGatewayProxyEvent, name: string | undefined): string | undefined {
  const value = name === undefined ? undefined : event.pathParameters?.[name];
  return value === undefined || value === null ? undefined : value.slice(0, 256);
}

function responseId(response: ApiResponse, declaration: AuditDeclaration): string | undefined {
  if (!declaration.id || !('response' in declaration.id)) return undefined;
  const body = response.body;
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[declaration.id.response] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The status the error middleware will answer `error` with. */
function statusOf(error: unknown): number {
  return error instanceof DomainError ? error.status : 500;
}

/**
 * Runs `handle` under the audit trail: the record first (if it cannot be written, `handle` never
 * runs and the request fails), then the request, then its outcome.
 */
export async function audited(declaration: AuditDeclaration | undefined, event: APIGatewayProxyEvent, handle: () => Promise<ApiResponse>): Promise<ApiResponse> {
  if (!declaration) return handle();
  const pending = await Trail.begin({
    action: declaration.action,
    targetType: declaration.target,
    targetId: declaration.id && 'path' in declaration.id ? (pathValue(event, declaration.id.path) ?? null) : null,
    caseId: pathValue(event, declaration.caseIdPath),
    requestId: event.requestContext.requestId,
  });
  if (!pending) return handle();
  let response: ApiResponse;
  try {
    response = await handle();
  } catch (error) {
    await Trail.complete(pending, { status: statusOf(error), error });
    throw error;
  }
  await Trail.complete(pending, { status: response.statusCode, targetId: responseId(response, declaration) });
  return response;
}
