import type { APIGatewayProxyResult } from 'aws-lambda';

/** What a route returns; the middleware turns it into the proxy result. */
export interface ApiResponse {
  statusCode: number;
  body?: unknown;
  /** A body sent as is (with its own Content-Type header) instead of as JSON. */
  text?: string;
  headers?: Record<string, string>;
}

export function ok(body: unknown): ApiResponse {
  return { statusCode: 200, body };
}

export function created(body: unknown, location?: string): ApiResponse {
  return { statusCode: 201, body, ...(location ? { headers: { Location: location } } : {}) };
}

/** The work was accepted and continues in the background; `location` shows its progress. */
export function accepted(body: unknown, location?: string): ApiResponse {
  return { statusCode: 202, body, ...(location ? { headers: { Location: location } } : {}) };
}

export function noContent(): ApiResponse {
  return { statusCode: 204 };
}

export function toProxyResult(response: ApiResponse): APIGatewayProxyResult {
  return {
    statusCode: response.statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...response.headers },
    body: response.text ?? (response.body === undefined ? '' : JSON.stringify(response.body)),
  };
}
