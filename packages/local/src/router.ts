import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import type { RequestListener } from './aws/types.js';

export interface RouterOptions {
  controlPlaneUrl: string;
  /** cellId → the cell API's base URL. */
  cellUrls: ReadonlyMap<string, string>;
  /** Where requests without a resolvable tenant go; that cell's authorizer answers 401/403. */
  defaultCellId: string;
  /** The routing map: tenant → cell. */
  resolveCell: (tenantId: string) => Promise<string | undefined>;
}

/**
 * Reads the `tenant_id` claim without verifying the token. The router only picks an origin —
 * the cell's authorizer verifies the token, so a forged claim at worst reaches a cell that says 401.
 */
export function unverifiedTenantClaim(authorization: string | undefined): string | undefined {
  const match = /^Bearer [A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(authorization ?? '');
  if (!match) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as { tenant_id?: unknown };
    return typeof claims.tenant_id === 'string' ? claims.tenant_id : undefined;
  } catch {
    return undefined;
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

/**
 * The local stand-in for the CloudFront distribution and its routing function: `/auth/*` and
 * `/admin/*` go to the control plane, everything else to the caller's cell. No business logic.
 */
export function createRouter(options: RouterOptions): RequestListener {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });

  async function origin(req: IncomingMessage): Promise<{ url: string; cellId?: string }> {
    const path = req.url ?? '/';
    if (CONTROL_PLANE_PREFIXES.some((prefix) => path.startsWith(prefix))) return { url: options.controlPlaneUrl };
    const tenantId = isHealthProbe(path) ? probedTenant(path) : unverifiedTenantClaim(req.headers.authorization);
    const cellId = (tenantId && (await options.resolveCell(tenantId))) || options.defaultCellId;
    const url = options.cellUrls.get(cellId) ?? options.cellUrls.get(options.defaultCellId)!;
    return { url, cellId };
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
    origin(req)
      .then(({ url, cellId }) => {
        const base = new URL(url);
        const upstream = httpRequest(
          { hostname: base.hostname, port: base.port, path, method: req.method, headers: { ...req.headers, host: base.host }, agent },
          (response) => {
            res.writeHead(response.statusCode ?? 502, {
              ...response.headers,
              ...(cellId ? { 'x-cellbook-cell': cellId } : {}),
            });
            response.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Bad Gateway' }));
        });
        req.pipe(upstream);
      })
      .catch(() => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Bad Gateway' }));
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
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
