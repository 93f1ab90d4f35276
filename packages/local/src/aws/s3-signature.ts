/**
 * Server side of SigV4 as S3 checks it, in both forms: the `Authorization` header (the SDK's
 * calls) and the presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
 * `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`, `X-Amz-Security-Token`). S3 differs
 * from the JSON services in three ways that matter here: the path is signed as sent (no
 * normalisation, encoded once), the payload is represented by the client's `x-amz-content-sha256`
 * (which the endpoint then checks against the body, or `UNSIGNED-PAYLOAD`), and the errors are
 * S3's own codes. The canonical request is rebuilt from what arrived, so a URL or header changed
 * after signing — another key, another query — does not verify.
 */
import { createHmac } from 'node:crypto';
import { canonicalHeaderValue, canonicalQuery, constantTimeEquals, escapeUri, formatAmzDate, headerValue, hmac, parseAmzDate, sha256Hex } from './sigv4-verifier.js';
import type { Clock, RoleSession, SignedRequest } from './types.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** S3's ceiling on a presigned URL's lifetime: seven days. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** An S3 error before any bucket or key is looked at. */
export interface S3AuthError {
  kind: 's3-error';
  status: number;
  code: string;
  message: string;
}

/** Who signed, and what the signature vouches for. */
export interface S3Caller {
  session: RoleSession;
  /** The payload hash the signature covers (hex SHA-256, `UNSIGNED-PAYLOAD` or a streaming marker). */
  payloadHash: string;
  presigned: boolean;
}

export function s3Error(status: number, code: string, message: string): S3AuthError {
  return { kind: 's3-error', status, code, message };
}

export function isS3Error(value: unknown): value is S3AuthError {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 's3-error';
}

const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

interface SignatureParts {
  accessKeyId: string;
  scope: { date: string; region: string; service: string; terminator: string };
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  sessionToken: string | undefined;
  payloadHash: string;
  /** Presigned: seconds the URL is valid from `amzDate`. */
  expiresSeconds?: number;
}

/**
 * Verifies an S3 request signed in either form and resolves the role session behind it, or the S3
 * error to answer. Order as S3 reports them: a malformed signature, an unknown key or token, a
 * signature that does not match, an expired URL (or a header signature outside the clock skew),
 * then an expired session.
 */
export function verifyS3Signature(
  request: SignedRequest,
  lookup: (accessKeyId: string) => RoleSession | undefined,
  now: Clock,
  regions: ReadonlySet<string>,
): S3Caller | S3AuthError {
  const query = new URLSearchParams(queryOf(request.url));
  const authorization = headerValue(request.headers, 'authorization');
  const presigned = query.has('X-Amz-Signature') || query.has('X-Amz-Algorithm');
  if (authorization === undefined && !presigned) return s3Error(403, 'AccessDenied', 'Access Denied');
  if (authorization !== undefined && presigned) {
    return s3Error(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
  }
  const parts = authorization !== undefined ? fromHeader(authorization, request) : fromQuery(query);
  if (isS3Error(parts)) return parts;

  const malformed = presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed';
  const signedAt = parseAmzDate(parts.amzDate);
  if (signedAt === undefined) return s3Error(400, malformed, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'", not ${parts.amzDate}`);
  const { scope } = parts;
  if (scope.date !== parts.amzDate.slice(0, 8))
    return s3Error(400, malformed, `Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${parts.amzDate.slice(0, 8)}".`);
  if (!regions.has(scope.region)) return s3Error(400, malformed, `the region '${scope.region}' is wrong; expecting one of '${[...regions].join("', '")}'`);
  if (scope.service !== 's3') return s3Error(400, malformed, `the service '${scope.service}' is wrong; expecting 's3'`);
  if (scope.terminator !== 'aws4_request') return s3Error(400, malformed, `the terminator '${scope.terminator}' is wrong; expecting 'aws4_request'`);
  if (!parts.signedHeaders.includes('host')) return s3Error(400, malformed, "'Host' must be a 'SignedHeader' in the AWS Authorization.");

  const session = lookup(parts.accessKeyId);
  if (session === undefined) return s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  // Temporary credentials are valid only together with their own session token.
  if (parts.sessionToken !== session.sessionToken) return s3Error(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');

  const expected = signatureOf(request, parts, session.secretAccessKey);
  if (!constantTimeEquals(expected, parts.signature)) return s3Error(403, 'SignatureDoesNotMatch', SIGNATURE_MISMATCH);

  const serverTime = now();
  if (parts.expiresSeconds !== undefined) {
    if (serverTime > signedAt + parts.expiresSeconds * 1000) return s3Error(403, 'AccessDenied', 'Request has expired');
    if (signedAt > serverTime + MAX_CLOCK_SKEW_MS) return s3Error(403, 'AccessDenied', 'Request is not valid yet');
  } else if (Math.abs(serverTime - signedAt) > MAX_CLOCK_SKEW_MS) {
    return s3Error(
      403,
      'RequestTimeTooSkewed',
      `The difference between the request time (${parts.amzDate}) and the current time (${formatAmzDate(serverTime)}) is too large.`,
    );
  }
  if (serverTime > session.expiration) return s3Error(400, 'ExpiredToken', 'The provided token has expired.');
  return { session, payloadHash: parts.payloadHash, presigned };
}

function fromHeader(authorization: string, request: SignedRequest): SignatureParts | S3AuthError {
  const malformed = (message: string) => s3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`);
  const trimmed = authorization.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) return s3Error(400, 'InvalidArgument', `Unsupported Authorization Type: ${algorithm}`);
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return malformed('it must name Credential, SignedHeaders and Signature.');
  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (amzDate === undefined) return malformed('the request has no X-Amz-Date header.');
  const payloadHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (payloadHash === undefined) return s3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  const scope = scopeOf(credential);
  if (scope === undefined) return malformed(`the Credential '${credential}' must have exactly 5 slash-delimited elements.`);
  return {
    ...scope,
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate,
    sessionToken: headerValue(request.headers, 'x-amz-security-token'),
    payloadHash,
  };
}

function fromQuery(query: URLSearchParams): SignatureParts | S3AuthError {
  const error = (message: string) => s3Error(400, 'AuthorizationQueryParametersError', message);
  const algorithm = query.get('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) return error(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const credential = query.get('X-Amz-Credential');
  const amzDate = query.get('X-Amz-Date');
  const expires = query.get('X-Amz-Expires');
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  if (!credential || !amzDate || !expires || !signedHeaders || !signature) {
    return error(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (!/^\d+$/.test(expires)) return error('X-Amz-Expires should be a number');
  const expiresSeconds = Number(expires);
  if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) return error(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`);
  const scope = scopeOf(credential);
  if (scope === undefined)
    return error(`Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  return {
    ...scope,
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate,
    sessionToken: query.get('X-Amz-Security-Token') ?? undefined,
    payloadHash: query.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
    expiresSeconds,
  };
}

function scopeOf(credential: string): Pick<SignatureParts, 'accessKeyId' | 'scope'> | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, scope: { date, region, service, terminator } };
}

function signatureOf(request: SignedRequest, parts: SignatureParts, secretAccessKey: string): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const canonicalHeaders = parts.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(headerValue(request.headers, name) ?? '')}\n`).join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    s3CanonicalPath(path),
    canonicalQuery(queryOf(request.url)),
    canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
  const { date, region, service } = parts.scope;
  const stringToSign = `${ALGORITHM}\n${parts.amzDate}\n${date}/${region}/${service}/aws4_request\n${sha256Hex(canonicalRequest)}`;
  let key: Buffer = hmac(`AWS4${secretAccessKey}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** S3 signs the path as the object key is: each segment encoded once, `.` and `..` kept. */
function s3CanonicalPath(wirePath: string): string {
  return wirePath
    .split('/')
    .map((segment) => escapeUri(decodeSegment(segment)))
    .join('/');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    // A malformed escape cannot come from a conforming signer: keep it, so the signature fails.
    if (error instanceof URIError) return segment;
    throw error;
  }
}

function queryOf(url: string): string {
  const start = url.indexOf('?');
  return start === -1 ? '' : url.slice(start + 1);
}
