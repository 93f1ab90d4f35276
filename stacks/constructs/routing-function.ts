/** The cells' public health check; a probe names the tenant whose route it checks: `?tenant=<id>`. */
export const HEALTH_PROBE_PATH = '/health';

/**
 * Source of the router's CloudFront Function (viewer request, JavaScript runtime 2.0). It does what
 * the local router does (packages/local/src/router.ts): read the `tenant_id` claim without
 * verifying the token — the cell's authorizer verifies it, so a forged claim at worst reaches a cell
 * that answers 401/403 — look the tenant up in the routing map (KeyValueStore: tenant id → cell id)
 * and send the request to that cell's API. A tenant the map does not know stays on the default
 * origin. `/auth/*` and `/admin/*` never run it: their cache behaviours go to the control plane.
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

async function handler(event) {
  var request = event.request;
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
}

/** CloudFront Functions must be at most 10 KB of source. */
export const MAX_FUNCTION_CODE_BYTES = 10_240;

export function routingFunctionCode(input: RoutingFunctionInput): string {
  return [
    "import cf from 'cloudfront';",
    `var routingMap = cf.kvs(${JSON.stringify(input.routingMapId)});`,
    `var cellOrigins = ${JSON.stringify(input.cellOrigins)};`,
    `var healthProbePath = ${JSON.stringify(HEALTH_PROBE_PATH)};`,
    HANDLER_SOURCE.trim(),
    '',
  ].join('\n');
}
