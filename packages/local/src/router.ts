import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { apiCorsHeaders, apiPreflight, WEB_APP_PATH } from '@cellbook/core/access/browser-cors';
import { CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import { decodeJwt, errors } from 'jose';
import type { RequestListener } from './aws/types.js';
import { answerBeforeBody, endAfterBody } from './early-answer.js';
import { answerLocally, createWebApp, isWebAppPath } from './web-app.js';

export interface RouterOptions {
  controlPlaneUrl: string;
  /** cellId → the cell API's base URL. */
  cellUrls: ReadonlyMap<string, string>;
  /** Where requests without a resolvable tenant go; that cell's authorizer answers 401/403. */
  defaultCellId: string;
  /** The routing map: tenant → cell. */
  resolveCell: (tenantId: string) => Promise<string | undefined>;
  /**
   * Browser origins other than the router's own that may call the API (CORS); none by default. The
   * web app is served on the router's origin and needs none. Read on every request.
   */
  browserOrigins?: () => readonly string[];
  /** The web app's build (Vite's `dist`), served under `/app/`; without it `/app/` answers 503. */
  webRoot?: string;
  /** Origins the web app fetches evidence from (the S3 endpoint): its Content-Security-Policy allows them. */
  evidenceOrigins?: () => readonly string[];
}

/**
 * Reads the `tenant_id` claim without verifying the token. The router only picks an origin —
 * the cell's authorizer verifies the token, so a forged claim at worst reaches a cell that says 401.
 */
export function unverifiedTenantClaim(authorization: string | undefined): string | undefined {
  // The same token shape the router's CloudFront Function accepts (infra suite: router.ts compares the two).
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) return undefined;
  try {
    const claims = decodeJwt(match[1]!);
    return Object.hasOwn(claims, 'tenant_id') && typeof claims.tenant_id === 'string' ? claims.tenant_id : undefined;
  } catch (error) {
    // Not a JWT at all (no JSON object in the payload): no tenant, so the default cell answers 401.
    if (error instanceof errors.JWTInvalid) return undefined;
    throw error;
  }
}

function isHealthProbe(path: string): boolean {
  return path === '/health' || path.startsWith('/health?');
}

/**
 * A health probe names the tenant whose route it checks (`/health?tenant=<id>`): the control plane
 * uses it to see where a tenant's requests land. The cell answers only its own id and reads no
 * tenant data; someone who knows a tenant id can learn which cell serves it (and so whether it is
 * dedicated), as they could from the router's response headers.
 */
function probedTenant(path: string): string | undefined {
  return new URL(path, 'http://router').searchParams.get('tenant') ?? undefined;
}

/** Safe to send twice: a method without side effects, and no body the first attempt consumed. */
function isReplayable(req: IncomingMessage): boolean {
  const method = (req.method ?? 'GET').toUpperCase();
  const bodyless = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
  return (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') && bodyless;
}

/**
 * The local stand-in for the CloudFront distribution and its routing function: `/auth/*` and
 * `/admin/*` go to the control plane, everything else to the caller's cell. No business logic.
 */
export function createRouter(options: RouterOptions): RequestListener {
  const browserOrigins = options.browserOrigins ?? (() => []);
  const webApp = createWebApp({ root: options.webRoot, evidenceOrigins: options.evidenceOrigins ?? (() => []) });
  // An idle connection is dropped after 2 s, well before an origin's keep-alive timeout (5 s) closes
  // it, so a request (which may not be replayable) is never sent into that close.
  const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: 2_000 });

  async function origin(req: IncomingMessage): Promise<{ url: string; cellId?: string }> {
    const path = req.url ?? '/';
    if (CONTROL_PLANE_PREFIXES.some((prefix) => path.startsWith(prefix))) return { url: options.controlPlaneUrl };
    const tenantId = isHealthProbe(path) ? probedTenant(path) : unverifiedTenantClaim(req.headers.authorization);
    const cellId = (tenantId && (await options.resolveCell(tenantId))) || options.defaultCellId;
    const url = options.cellUrls.get(cellId) ?? options.cellUrls.get(options.defaultCellId)!;
    return { url, cellId };
  }

  /**
   * Proxies one request to an origin. An upstream connection is reused only after a complete
   * exchange: a response that arrived before the request body was sent in full, or that said
   * `Connection: close`, retires its connection (the origin may close it at any moment, and the
   * next tenant's request on it would meet a reset). A request is retried only when it is safe
   * to: a bodyless GET/HEAD/OPTIONS whose reused connection failed before any response.
   */
  function forward(req: IncomingMessage, res: ServerResponse, base: URL, cellId: string | undefined, mayRetry: boolean): void {
    const path = req.url ?? '/';
    let state: 'waiting' | 'streaming' | 'delivered' = 'waiting';
    const headers: OutgoingHttpHeaders = { ...req.headers, host: base.host };
    // Hop-by-hop: each connection keeps its own terms with its own peer.
    delete headers.connection;
    delete headers['keep-alive'];
    const upstream = httpRequest({ hostname: base.hostname, port: base.port, path, method: req.method, headers, agent }, (response) => {
      state = 'streaming';
      const bodySent = upstream.writableFinished;
      // Node would hand this connection to the next request once the body is flushed, though the
      // origin may be closing it: retire it instead.
      if (!bodySent || response.headers.connection?.toLowerCase() === 'close') upstream.shouldKeepAlive = false;
      const clientStillSending = !req.complete;
      const answer: OutgoingHttpHeaders = { ...response.headers, ...(cellId ? { 'x-cellbook-cell': cellId } : {}) };
      delete answer.connection;
      delete answer['keep-alive'];
      // CORS is the router's to decide, as CloudFront's response headers policy overrides the
      // origin's: whatever an origin said is replaced by the stage's answer for this Origin.
      for (const name of Object.keys(answer)) if (name.startsWith('access-control-')) delete answer[name];
      const corsHeaders = cors(req);
      // `Vary: Origin` joins whatever the origin varies on (never replaces it).
      if (corsHeaders.vary && answer.vary) corsHeaders.vary = `${String(answer.vary)}, ${corsHeaders.vary}`;
      Object.assign(answer, corsHeaders);
      if (clientStillSending) {
        // The origin answered before the whole body: stop forwarding it, and close the client's
        // connection once the rest of its body has been drained.
        req.unpipe(upstream);
        answer.connection = 'close';
      }
      res.writeHead(response.statusCode ?? 502, answer);
      response.pipe(res, { end: false });
      response.once('end', () => {
        state = 'delivered';
        if (!bodySent) upstream.destroy();
        if (clientStillSending) endAfterBody(req, res);
        else res.end();
      });
      // The origin cut its response short: cut the client's too (it must not look complete).
      response.once('error', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (state === 'delivered') return;
      if (state === 'streaming') {
        // A half-sent response is cut, never completed with something else.
        res.destroy();
        return;
      }
      if (mayRetry && upstream.reusedSocket && isReplayable(req) && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        forward(req, res, base, cellId, false);
        return;
      }
      if (!res.headersSent) answerBeforeBody(req, res, 502, { 'content-type': 'application/json', ...cors(req) }, JSON.stringify({ message: 'Bad Gateway' }));
      else if (!res.writableEnded) res.destroy();
    });
    req.pipe(upstream);
    // A client gone before its request was passed on in full (a browser cancelling a fetch, even
    // while the origin was being looked up) would leave the upstream request waiting for the rest
    // forever, and the origin's server could then never close: drop it with the client.
    const abandon = () => {
      if (!upstream.writableEnded) upstream.destroy();
    };
    if (req.destroyed) abandon();
    else req.once('close', abandon);
  }

  /** The CORS headers of an actual response: only for an allowed `Origin`. */
  function cors(req: IncomingMessage): Record<string, string> {
    const headers = apiCorsHeaders(browserOrigins(), typeof req.headers.origin === 'string' ? req.headers.origin : undefined);
    return Object.keys(headers).length > 0 ? { ...headers, vary: 'Origin' } : {};
  }

  /**
   * A CORS preflight, on any path: answered here, never forwarded (no API route takes OPTIONS, and
   * a browser sends no credentials on one, so no authorizer could admit it). 204 with the allowed
   * methods and headers for an allowed origin; 403 without any CORS header otherwise.
   */
  function preflight(req: IncomingMessage, res: ServerResponse): void {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const answer = apiPreflight(browserOrigins(), header('origin'), header('access-control-request-method'), header('access-control-request-headers'));
    if (answer.allowed) answerLocally(req, res, 204, answer.headers, '');
    else answerLocally(req, res, 403, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Forbidden' }));
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    // Only origin-form targets: the client's path is never resolved as a URL, so `//host:port/x`,
    // `http://host/x` or `*` can never name an upstream other than the platform's own origins.
    if (!path.startsWith('/')) {
      res.writeHead(400, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ message: 'Bad Request' }));
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') return preflight(req, res);
    // The origin's root is the web app's (the API has no `/` route): a browser opening the
    // platform's URL lands in the app.
    if ((method === 'GET' || method === 'HEAD') && path.split('?', 1)[0] === '/') {
      return answerLocally(req, res, 302, { location: WEB_APP_PATH, 'content-type': 'text/plain; charset=utf-8' }, `Found: ${WEB_APP_PATH}\n`);
    }
    if (isWebAppPath(path)) return webApp(req, res);
    origin(req)
      .then(({ url, cellId }) => forward(req, res, new URL(url), cellId, true))
      .catch(() => {
        if (!res.headersSent) answerBeforeBody(req, res, 502, { 'content-type': 'application/json', ...cors(req) }, JSON.stringify({ message: 'Bad Gateway' }));
        else if (!res.writableEnded) res.destroy();
      });
  };
}

/**
 * What the router answers to a request HTTP itself cannot parse (raw non-ASCII bytes in the
 * target, a malformed header line, headers over Node's size limit): a 4xx with a JSON body like
 * its other refusals, instead of Node's bare status line. Install with `server.on('clientError', …)`.
 */
export function answerUnparseableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] = error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  const body = JSON.stringify({ message: reason });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
