/**
 * Which browser origins may call Cellbook across origins, and what they may do (DESIGN §11, §12).
 * The web app is served on the router's own origin, so it needs none of this: CORS exists for a
 * web app served elsewhere (a custom domain, a partner's portal) and for evidence, which the browser
 * PUTs and GETs at presigned S3 URLs (another origin). One source, read by the Router stack
 * (CloudFront Function preflights, response headers policy, and every cell bucket's CORS rule),
 * the local router and the local S3 endpoint.
 */

/**
 * The origins allowed per stage, exactly as a browser sends them in `Origin` (scheme, host, port if
 * not the default; no path, no trailing slash). A stage not listed allows none: only the router's
 * own origin works, which needs no CORS. Adding an origin here is a deliberate, reviewed change.
 */
const BROWSER_ORIGINS_BY_STAGE: Readonly<Record<string, readonly string[]>> = {};

export function browserOriginsForStage(stage: string): readonly string[] {
  return (Object.hasOwn(BROWSER_ORIGINS_BY_STAGE, stage) && BROWSER_ORIGINS_BY_STAGE[stage]) || [];
}

/**
 * An origin as browsers serialize it: `http(s)://host[:port]`, lower case, nothing after (spaces
 * around it are forgiven: it often comes from a comma-separated list). Anything
 * else (a path, a wildcard, `null`) could never match a real `Origin` header, so configuration that
 * holds one is refused rather than silently never matching.
 */
export function parseBrowserOrigin(value: string): string {
  const trimmed = value.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch (error) {
    throw new Error(`Not a browser origin: ${JSON.stringify(value)} (expected http(s)://host[:port])`, { cause: error });
  }
  // Exactly what `URL` serializes (so no path, no default port, lower case), and a host name a
  // browser could be on (no `*`: CORS has no patterns, and neither does this list).
  const hostOk = /^[a-z0-9.-]+$/.test(url.hostname) || url.hostname.startsWith('[');
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== trimmed || !hostOk) {
    throw new Error(`Not a browser origin: ${JSON.stringify(value)} (expected http(s)://host[:port], nothing after)`);
  }
  return url.origin;
}

/** What a browser on an allowed origin may do with the API (cell and control plane alike). */
export const API_CORS = {
  allowedMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  // What the web app sends: its bearer token, JSON bodies, and the onboarding idempotency key.
  allowedHeaders: ['authorization', 'content-type', 'idempotency-key'],
  // What the web app reads from a response: backoff after a transient error, export paging, and
  // which cell answered (diagnostics).
  exposedHeaders: ['retry-after', 'x-next-cursor', 'x-item-count', 'x-cellbook-cell'],
  maxAgeSeconds: 600,
} as const;

/**
 * What a browser may do with a cell's evidence bucket across origins (DESIGN §11, §12): the web app
 * uploads to presigned PUT URLs (declaring the file's type, length and SHA-256) and downloads from
 * presigned GET URLs. The Router stack's bucket CORS rule (it owns every cell bucket's CORS) and the
 * local S3 endpoint both read this.
 */
export const EVIDENCE_CORS = {
  allowedMethods: ['GET', 'PUT', 'HEAD'],
  allowedHeaders: ['content-type', 'content-length', 'content-md5', 'x-amz-checksum-sha256'],
  exposedHeaders: ['etag', 'x-amz-checksum-sha256'],
  maxAgeSeconds: 600,
} as const;

/**
 * The origins that may call a cell's evidence bucket: the web app's own origin(s) first (the app is
 * served by the router, so its uploads are cross-origin to S3 even though nothing else about it
 * is), then the stage's listed origins; each once, in that order. The Router stack (app origin =
 * its distribution's `https://` address) and the local platform (app origin = the local router's
 * addresses) both call this, so the app works against the buckets the same way in both worlds.
 */
export function evidenceBucketOrigins(appOrigins: readonly string[], stageOrigins: readonly string[]): string[] {
  return [...new Set([...appOrigins, ...stageOrigins])];
}

/**
 * A bucket's CORS rule for `origins`, in the S3 API's shape (`PutBucketCors`' `CORSConfiguration`):
 * EVIDENCE_CORS's methods, headers and max age, nothing else.
 */
export function evidenceBucketCorsConfiguration(origins: readonly string[]): {
  CORSRules: { AllowedOrigins: string[]; AllowedMethods: string[]; AllowedHeaders: string[]; ExposeHeaders: string[]; MaxAgeSeconds: number }[];
} {
  return {
    CORSRules: [
      {
        AllowedOrigins: [...origins],
        AllowedMethods: [...EVIDENCE_CORS.allowedMethods],
        AllowedHeaders: [...EVIDENCE_CORS.allowedHeaders],
        ExposeHeaders: [...EVIDENCE_CORS.exposedHeaders],
        MaxAgeSeconds: EVIDENCE_CORS.maxAgeSeconds,
      },
    ],
  };
}

/** The outcome of a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`). */
export type PreflightAnswer = { allowed: true; headers: Record<string, string> } | { allowed: false };

/**
 * Answers a preflight for the API. Allowed only for a listed origin asking for a listed method and
 * listed headers (a browser then sends the actual request); no credentials are needed or given.
 */
export function apiPreflight(
  allowedOrigins: readonly string[],
  origin: string | undefined,
  requestMethod: string | undefined,
  requestHeaders: string | undefined,
): PreflightAnswer {
  if (origin === undefined || !allowedOrigins.includes(origin)) return { allowed: false };
  const method = (requestMethod ?? '').toUpperCase();
  const headers = (requestHeaders ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (!(API_CORS.allowedMethods as readonly string[]).includes(method)) return { allowed: false };
  if (!headers.every((name) => (API_CORS.allowedHeaders as readonly string[]).includes(name))) return { allowed: false };
  return {
    allowed: true,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': API_CORS.allowedMethods.join(', '),
      'access-control-allow-headers': API_CORS.allowedHeaders.join(', '),
      'access-control-max-age': String(API_CORS.maxAgeSeconds),
      vary: 'Origin',
    },
  };
}

/** The headers an actual (non-preflight) API response carries for `origin`: none unless it is allowed. */
export function apiCorsHeaders(allowedOrigins: readonly string[], origin: string | undefined): Record<string, string> {
  if (origin === undefined || !allowedOrigins.includes(origin)) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': API_CORS.exposedHeaders.join(', ') };
}

/** Where the web app lives on the router's origin (its client routes too: `/app/cases/123`). */
export const WEB_APP_PATH = '/app/';

/**
 * The security headers of every web app response, locally and at the edge. The app is scripts and
 * styles from its own origin only (no inline code, no eval); it calls the API on that origin and
 * uploads/downloads evidence at presigned URLs on `evidenceOrigins` (the cells' buckets); it may not
 * be framed (clickjacking), and its URLs, which name cases, are never sent as a referrer.
 */
export interface WebAppSecurityHeaders {
  'content-security-policy': string;
  'x-content-type-options': 'nosniff';
  'referrer-policy': 'no-referrer';
  'x-frame-options': 'DENY';
}

export function webAppSecurityHeaders(evidenceOrigins: readonly string[]): WebAppSecurityHeaders {
  const evidence = evidenceOrigins.map((origin) => ` ${origin}`).join('');
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src 'self' data: blob:${evidence}`,
      `connect-src 'self'${evidence}`,
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}
