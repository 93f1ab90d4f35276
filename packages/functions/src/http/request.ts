import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from '@cellbook/core/shared/errors';
import { ownRecord } from '@cellbook/core/shared/own-record';

/**
 * What a route handler sees: parsed, size-checked input — never the raw event. `path`, `query` and
 * `headers` have no prototype (see own-record.ts): a parameter named `constructor` is the client's.
 */
export interface ApiRequest {
  body: unknown;
  path: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  requestId: string;
}

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * JSON, as `Content-Type` names it: `application/json` or a `+json` type (RFC 6839), any case, with
 * no parameter but `charset=utf-8` — a body declared as anything else is not read as JSON.
 */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const json = type === 'application/json' || /^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
  return json && parameters.every((parameter) => /^charset\s*=\s*"?utf-8"?$/.test(parameter));
}

function parseBody(event: APIGatewayProxyEvent, headers: Record<string, string>): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLarge(`The request body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  // A form or text body that happens to parse as JSON is still not what the client meant to send.
  if (!isJsonMediaType(headers['content-type'])) {
    throw new UnsupportedMediaType('The request body must be JSON, sent with Content-Type: application/json.');
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new MalformedRequest('The request body is not valid JSON.', { cause: error });
  }
}

function parseQuery(event: APIGatewayProxyEvent): Record<string, string> {
  const query = ownRecord<string>();
  const multi = event.multiValueQueryStringParameters ?? {};
  for (const [name, values] of Object.entries(multi)) {
    if (!values) continue;
    // One meaning per parameter: `?status=OPEN&status=CLOSED` is ambiguous, so it is refused.
    if (values.length > 1) throw new MalformedRequest(`Query parameter "${name}" was given more than once.`);
    query[name] = values[0] ?? '';
  }
  if (Object.keys(multi).length === 0) {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query[name] = value;
  }
  return query;
}

export function readRequest(event: APIGatewayProxyEvent): ApiRequest {
  const headers = ownRecord<string>();
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  const path = ownRecord<string>();
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) if (value !== undefined) path[name] = value;
  return { body: parseBody(event, headers), path, query: parseQuery(event), headers, requestId: event.requestContext.requestId };
}

/** Routes that take a body require one; an empty POST is malformed, not "invalid". */
export function requireBody(request: ApiRequest): unknown {
  if (request.body === undefined) throw new MalformedRequest('A JSON request body is required.');
  return request.body;
}
