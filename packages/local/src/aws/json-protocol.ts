/**
 * Wire plumbing shared by the stand-ins that speak AWS's JSON protocols (`application/x-amz-json-1.x`
 * with an `X-Amz-Target` header): reading bodies, parsing JSON objects, writing responses the way
 * the SDK's deserializers expect them, errors included. Which errors a service raises stays in its stand-in.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonOwn } from '@cellbook/core/shared/own-record';

export const JSON_11 = 'application/x-amz-json-1.1';

export type JsonObject = Record<string, unknown>;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * JSON.parse that answers `undefined` for text that is not JSON. Its objects have no prototype: a
 * member named `constructor` or `__proto__` is the caller's, never `Object.prototype`'s.
 */
export function parseJsonText(text: string): unknown {
  try {
    return parseJsonOwn(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** An empty body is `{}`; anything but a JSON object throws the service's serialization error. */
export function parseJsonObject(body: Buffer, serializationError: () => Error): JsonObject {
  if (body.length === 0) return {};
  const parsed = parseJsonText(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw serializationError();
  return parsed as JsonObject;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = JSON_11, errorType?: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': `${errorType}:` } : {}),
  });
  res.end(payload);
}

/** An error the service answers with: its `__type` (`ValidationException`, …), message and HTTP status. */
export class JsonProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The error as the SDK's JSON-protocol deserializers read it: `__type` in the body and the header. */
export function sendJsonError(res: ServerResponse, error: JsonProtocolError): void {
  sendJson(res, error.status, { __type: error.type, message: error.message }, JSON_11, error.type);
}
