import { API_CORS, WEB_APP_PATH } from '@cellbook/core/access/browser-cors';
import { CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';

/** The cells' public health check; a probe names the tenant whose route it checks: `?tenant=<id>`. */
export const HEALTH_PROBE_PATH = '/health';

/**
 * Source of the router's CloudFront Function (viewer request, JavaScript runtime 2.0), on every
 * behaviour of the distribution. It does at the edge what the local router does
 * (packages/local/src/router.ts), in the same order:
 *
 * 1. `OPTIONS` on any path is a CORS preflight, answered here and never forwarded (no API route takes
 *    OPTIONS, and a browser sends no credentials on one): 204 with the allowed methods and headers
 *    for an origin the stage lists (core browser-cors.ts), 403 without any CORS header otherwise.
 * 2. `GET /` (and `/app`) answer 302 → `/app/`, where the web app lives.
 * 3. `/app/*` (the web app's behaviour, an S3 origin): a hashed asset or any file name (a dot in the
 *    last segment) is the object under the bucket's root (the prefix dropped); any other path is a
 *    client-side route and gets `/index.html`.
 * 4. `/auth/*` and `/admin/*` (the control plane's behaviours) keep their origin.
 * 5. Everything else is routed: read the `tenant_id` claim without verifying the token — the cell's
 *    authorizer verifies it, so a forged claim at worst reaches a cell that answers 401/403 — look
 *    the tenant up in the routing map (KeyValueStore: tenant id → cell id) and send the request to
 *    that cell's API. A tenant the map does not know stays on the default origin.
 *
 * A health probe (`/health?tenant=<id>`, the control plane checking where a tenant's requests land)
 * is routed by its `tenant` query parameter instead of a token, as locally. The cell answers it with
 * its own id only, so naming any tenant there reveals nothing and reaches no data. Tenant ids are
 * `[a-z0-9-]`, which needs no URL encoding, so the raw parameter value is the id.
 */
const HANDLER_SOURCE = String.raw`
var BEARER = /^Bearer [A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/;

function tenantClaim(authorization) {
  var match = BEARER.exec(authorization || '');
  if (!match) return undefined;
  try {
    var base64 = match[1].replace(/-/g, '+').replace(/_/g, '/');
    var claims = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
    return claims && typeof claims.tenant_id === 'string' ? claims.tenant_id : undefined;
  } catch (e) {
    return undefined;
  }
}

function probedTenant(querystring) {
  var parameter = querystring && querystring.tenant;
  if (!parameter) return undefined;
  // Repeated (?tenant=a&tenant=b): the first, as URLSearchParams.get takes it locally.
  var value = parameter.multiValue && parameter.multiValue.length ? parameter.multiValue[0].value : parameter.value;
  return value ? value : undefined;
}

function headerValue(request, name) {
  var header = request.headers[name];
  return header ? header.value : undefined;
}

function preflight(request) {
  var origin = headerValue(request, 'origin');
  var method = (headerValue(request, 'access-control-request-method') || '').toUpperCase();
  var requested = (headerValue(request, 'access-control-request-headers') || '')
    .split(',')
    .map(function (name) { return name.trim().toLowerCase(); })
    .filter(function (name) { return name !== ''; });
  var allowed =
    origin !== undefined &&
    cors.allowedOrigins.indexOf(origin) !== -1 &&
    cors.allowedMethods.indexOf(method) !== -1 &&
    requested.every(function (name) { return cors.allowedHeaders.indexOf(name) !== -1; });
  if (!allowed) return { statusCode: 403, statusDescription: 'Forbidden', headers: {} };
  return {
    statusCode: 204,
    statusDescription: 'No Content',
    headers: {
      'access-control-allow-origin': { value: origin },
      'access-control-allow-methods': { value: cors.allowedMethods.join(', ') },
      'access-control-allow-headers': { value: cors.allowedHeaders.join(', ') },
      'access-control-max-age': { value: String(cors.maxAgeSeconds) },
      vary: { value: 'Origin' },
    },
  };
}

function redirect(location) {
  return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: location } } };
}

function webAppObject(request) {
  var rest = request.uri.slice(webAppPath.length);
  var lastSegment = rest.slice(rest.lastIndexOf('/') + 1);
  request.uri = rest.indexOf('assets/') === 0 || lastSegment.indexOf('.') !== -1 ? '/' + rest : '/index.html';
  return request;
}

async function handler(event) {
  var request = event.request;
  if (request.method === 'OPTIONS') return preflight(request);
  if (request.uri === '/' && (request.method === 'GET' || request.method === 'HEAD')) return redirect(webAppPath);
  if (request.uri === webAppPath.slice(0, -1)) return redirect(webAppPath);
  if (request.uri.indexOf(webAppPath) === 0) return webAppObject(request);
  if (controlPlanePrefixes.some(function (prefix) { return request.uri.indexOf(prefix) === 0; })) return request;
  var tenantId;
  if (request.uri === healthProbePath) {
    tenantId = probedTenant(request.querystring);
  } else {
    var header = request.headers.authorization;
    tenantId = tenantClaim(header && header.value);
  }
  if (tenantId === undefined) return request;
  var cellId;
  try {
    cellId = await routingMap.get(tenantId);
  } catch (e) {
    // Unknown tenant (or a key the store refuses): the default cell answers (its authorizer refuses
    // a tenant placed elsewhere; its health check names itself, so a probe sees the wrong cell).
    return request;
  }
  var domainName = Object.prototype.hasOwnProperty.call(cellOrigins, cellId) ? cellOrigins[cellId] : undefined;
  if (domainName) cf.updateRequestOrigin({ domainName: domainName });
  return request;
}
`;

export interface RoutingFunctionInput {
  /** The KeyValueStore's id (not its ARN), as `cf.kvs()` takes it. */
  routingMapId: string;
  /** cell id → the cell API's regional domain name. */
  cellOrigins: Record<string, string>;
  /** The browser origins the stage allows across origins (core browser-cors.ts). */
  allowedOrigins: readonly string[];
}

/** CloudFront Functions must be at most 10 KB of source. */
export const MAX_FUNCTION_CODE_BYTES = 10_240;

export function routingFunctionCode(input: RoutingFunctionInput): string {
  return [
    "import cf from 'cloudfront';",
    `var routingMap = cf.kvs(${JSON.stringify(input.routingMapId)});`,
    `var cellOrigins = ${JSON.stringify(input.cellOrigins)};`,
    `var healthProbePath = ${JSON.stringify(HEALTH_PROBE_PATH)};`,
    `var controlPlanePrefixes = ${JSON.stringify(CONTROL_PLANE_PREFIXES)};`,
    `var webAppPath = ${JSON.stringify(WEB_APP_PATH)};`,
    `var cors = ${JSON.stringify({
      allowedOrigins: input.allowedOrigins,
      allowedMethods: API_CORS.allowedMethods,
      allowedHeaders: API_CORS.allowedHeaders,
      maxAgeSeconds: API_CORS.maxAgeSeconds,
    })};`,
    HANDLER_SOURCE.trim(),
    '',
  ].join('\n');
}
