/**
 * Server side of AWS Signature Version 4 (header form), as the real services check it: the
 * canonical request is rebuilt from what arrived on the wire — only the headers the client listed in
 * SignedHeaders, and the body as received — so a request altered after signing does not verify.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LOCAL_REGION, awsError, type AwsErrorShape, type Clock, type RoleSession, type SignedRequest } from './types.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Reads the whole body of an incoming request into the shape `verifySigV4` needs. */
export function readSignedRequest(req: IncomingMessage, service: string, maxBytes: number): Promise<SignedRequest | AwsErrorShape> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit keep reading but stop buffering: answering mid-upload would reset the socket
      // and the client would never see the error.
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => {
      if (size > maxBytes) resolve(awsError(413, 'RequestEntityTooLarge', `Request body must be at most ${maxBytes} bytes`));
      else resolve({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks), service });
    });
  });
}

interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminator: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * Verifies a SigV4-signed request and resolves the role session behind its access key.
 * Error codes follow DynamoDB's JSON services; query-protocol endpoints (STS) translate them.
 * `regions`: the regions a credential scope may name (the platform's, from the cell catalog).
 */
export function verifySigV4(
  request: SignedRequest,
  lookup: (accessKeyId: string) => RoleSession | undefined,
  now: Clock,
  regions: ReadonlySet<string> = new Set([LOCAL_REGION]),
): RoleSession | AwsErrorShape {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined) {
    return awsError(400, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  }
  const parsed = parseAuthorization(authorization);
  if (typeof parsed === 'string') {
    return awsError(400, 'IncompleteSignatureException', `${parsed} Authorization=${authorization}`);
  }

  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (amzDate === undefined) {
    return awsError(
      400,
      'IncompleteSignatureException',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`,
    );
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    return awsError(400, 'IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  }

  const scopeError = checkCredentialScope(parsed, request.service, amzDate, regions);
  if (scopeError !== undefined) return awsError(400, 'InvalidSignatureException', scopeError);
  if (!parsed.signedHeaders.includes('host')) {
    return awsError(400, 'InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const serverTime = now();
  if (signedAt < serverTime - MAX_CLOCK_SKEW_MS) {
    return awsError(
      400,
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(serverTime - MAX_CLOCK_SKEW_MS)} (${formatAmzDate(serverTime)} - 15 min.)`,
    );
  }
  if (signedAt > serverTime + MAX_CLOCK_SKEW_MS) {
    return awsError(
      400,
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(serverTime + MAX_CLOCK_SKEW_MS)} (${formatAmzDate(serverTime)} + 15 min.)`,
    );
  }

  const session = lookup(parsed.accessKeyId);
  // Temporary credentials are only valid together with their own session token.
  if (session === undefined || headerValue(request.headers, 'x-amz-security-token') !== session.sessionToken) {
    return awsError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  const expected = computeSignature(request, parsed, amzDate, session.secretAccessKey);
  if (!constantTimeEquals(expected, parsed.signature)) {
    return awsError(400, 'InvalidSignatureException', SIGNATURE_MISMATCH_MESSAGE);
  }

  if (serverTime > session.expiration) {
    return awsError(400, 'ExpiredTokenException', 'The security token included in the request is expired');
  }
  return session;
}

function parseAuthorization(header: string): ParsedAuthorization | string {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) return `Unsupported AWS 'algorithm': '${algorithm}'.`;

  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length > 0) {
    return missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
  }

  const credential = (fields.get('Credential') ?? '').split('/');
  if (credential.length !== 5) {
    return `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${fields.get('Credential')}'`;
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator] = credential as [string, string, string, string, string];
  return {
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    scopeTerminator,
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';'),
    signature: fields.get('Signature') ?? '',
  };
}

function checkCredentialScope(auth: ParsedAuthorization, service: string, amzDate: string, regions: ReadonlySet<string>): string | undefined {
  const day = amzDate.slice(0, 8);
  if (auth.scopeDate !== day) {
    return `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${day}', from '${amzDate}'.`;
  }
  if (!regions.has(auth.scopeRegion)) return `Credential should be scoped to a valid region, not '${auth.scopeRegion}'. `;
  if (auth.scopeService !== service) return `Credential should be scoped to correct service: '${service}'. `;
  if (auth.scopeTerminator !== 'aws4_request') {
    return `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.scopeTerminator}'. `;
  }
  return undefined;
}

function computeSignature(request: SignedRequest, auth: ParsedAuthorization, amzDate: string, secretAccessKey: string): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart === -1 ? '' : request.url.slice(queryStart + 1);

  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(headerValue(request.headers, name) ?? '')}\n`).join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    // Hash what actually arrived, never a client-declared x-amz-content-sha256: the body must be covered.
    sha256Hex(request.body),
  ].join('\n');

  const scope = `${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;

  let key: Buffer = hmac(`AWS4${secretAccessKey}`, auth.scopeDate);
  key = hmac(key, auth.scopeRegion);
  key = hmac(key, auth.scopeService);
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Non-S3 services normalise the path and encode each segment once more than the wire form. */
function canonicalPath(wirePath: string): string {
  const segments: string[] = [];
  for (const segment of wirePath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${wirePath.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && wirePath.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const value = eq === -1 ? '' : decodeComponent(part.slice(eq + 1));
    pairs.push([escapeUri(key), escapeUri(value)]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka === kb ? compare(va, vb) : compare(ka, kb)));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch (error) {
    // A malformed escape cannot have come from a signer that encoded per RFC 3986; keep it verbatim
    // so the signature simply fails to match instead of the request crashing the endpoint.
    if (error instanceof URIError) return value;
    throw error;
  }
}

export function canonicalHeaderValue(value: string): string {
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Own headers only: a SignedHeaders entry named `constructor` or `__proto__` is just an absent header. */
export function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export function formatAmzDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function constantTimeEquals(expectedHex: string, providedHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'utf8');
  const provided = Buffer.from(providedHex, 'utf8');
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}

export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
