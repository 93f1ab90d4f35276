/** The management API's REST-JSON wire: its errors, request bodies and members, pages, and responses. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonOwn } from '@cellbook/core/shared/own-record';

export type JsonObject = Record<string, unknown>;

export class ApiGatewayError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new ApiGatewayError('NotFoundException', 404, message);
export const badRequest = (message: string) => new ApiGatewayError('BadRequestException', 400, message);
export const conflict = (message: string) => new ApiGatewayError('ConflictException', 409, message);

const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 500;

/** Pages ordered by id; the position is the last id returned, so it survives inserts and deletes. */
export function paginate<T>(all: T[], idOf: (item: T) => string, query: URLSearchParams): { items: T[]; position: string | undefined } {
  const requested = Number(query.get('limit') ?? DEFAULT_PAGE_SIZE);
  const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  const encoded = query.get('position');
  const after = encoded ? Buffer.from(encoded, 'base64url').toString('utf8') : undefined;
  const sorted = [...all].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0)).filter((item) => after === undefined || idOf(item) > after);
  const items = sorted.slice(0, limit);
  const last = items.at(-1);
  return { items, position: sorted.length > items.length && last !== undefined ? Buffer.from(idOf(last)).toString('base64url') : undefined };
}

export function epochSeconds(ms: number): number {
  return ms / 1000;
}

export function withoutUndefined(object: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

export function invalidInput(): ApiGatewayError {
  return badRequest('Invalid request input');
}

export function optionalString(body: JsonObject, member: string): string | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidInput();
  return value;
}

export function optionalBoolean(body: JsonObject, member: string): boolean | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidInput();
  return value;
}

export function optionalStringMap(body: JsonObject, member: string): Record<string, string> | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((entry) => typeof entry !== 'string')) throw invalidInput();
  return { ...(value as Record<string, string>) };
}

/** Percent-decoded path text; a malformed escape is the caller's mistake (400), not ours. */
export function decodePathText(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) throw badRequest('Invalid request path');
    throw error;
  }
}

/** Member names are the caller's: the parsed objects have no prototype. */
export function parseJsonObject(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = parseJsonOwn(body.toString('utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw invalidInput();
    throw error;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidInput();
  return parsed as JsonObject;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    // The real service appends the Coral namespace after a colon; SDKs keep only the part before it.
    ...(errorType ? { 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazonaws.backplane.controlplane/` } : {}),
  });
  res.end(payload);
}
