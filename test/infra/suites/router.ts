import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import { CELL_ROUTES, CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import { unverifiedTenantClaim } from '@cellbook/local/router';
import { HEALTH_PROBE_PATH, MAX_FUNCTION_CODE_BYTES } from '../../../stacks/constructs/routing-function.js';
import type { InfraFixture } from '../support/app.js';

/** CloudFront's managed policies, by their documented ids. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

let infra: InfraFixture;

const router = () => infra.router;
const cellIds = Cell.CELL_CATALOG.map((cell) => cell.cellId);
const cellDomain = (cellId: string) => `${infra.ref(infra.cells.get(cellId)!, `Api-${cellId}/Api`)}.execute-api.${infra.region}.amazonaws.com`;
const controlDomain = () => `${infra.ref(infra.controlPlane, 'ControlApi/Api')}.execute-api.${infra.region}.amazonaws.com`;

// biome-ignore lint/suspicious/noExplicitAny: test ergonomics — a synthesized cache behaviour read field by field, where a missing field fails the assertion anyway.
type CacheBehavior = Record<string, any>;

interface DistributionConfig {
  Origins: { Id: string; DomainName: string; OriginPath: string; CustomOriginConfig: { OriginProtocolPolicy: string } }[];
  DefaultCacheBehavior: CacheBehavior;
  CacheBehaviors: CacheBehavior[];
}

function distribution(): DistributionConfig {
  const [resource] = infra.resources(router(), 'AWS::CloudFront::Distribution');
  return resource!.properties.DistributionConfig as DistributionConfig;
}

function routingFunction() {
  const [resource] = infra.resources(router(), 'AWS::CloudFront::Function');
  return resource!.properties as { FunctionCode: string; FunctionConfig: { Runtime: string; KeyValueStoreAssociations: { KeyValueStoreARN: string }[] } };
}

/**
 * Runs the synthesized CloudFront Function with the `cloudfront` module emulated as documented:
 * `cf.kvs(id).get(key)` resolves the value or rejects for a missing key, and
 * `cf.updateRequestOrigin(params)` switches the request's origin.
 */
function loadRoutingFunction(routingMap: Record<string, string>) {
  const [firstLine, ...rest] = routingFunction().FunctionCode.split('\n');
  expect(firstLine).toBe("import cf from 'cloudfront';");
  const calls = { kvsIds: [] as string[], lookups: [] as string[], origins: [] as unknown[] };
  const cf = {
    kvs(id: string) {
      calls.kvsIds.push(id);
      return {
        async get(key: string) {
          calls.lookups.push(key);
          if (!Object.hasOwn(routingMap, key)) throw new Error(`The key ${key} does not exist.`);
          return routingMap[key];
        },
      };
    },
    updateRequestOrigin(params: unknown) {
      calls.origins.push(params);
    },
  };
  const context = vm.createContext({ cf, Buffer });
  vm.runInContext(`${rest.join('\n')}\nglobalThis.handler = handler;`, context);
  const handler = context.handler as (event: unknown) => Promise<unknown>;
  const request = (authorization?: string, target: RequestTarget = {}) => ({
    method: 'GET',
    uri: target.uri ?? '/cases',
    querystring: target.querystring ?? {},
    headers: authorization === undefined ? {} : { authorization: { value: authorization } },
    cookies: {},
  });
  return {
    calls,
    route: async (authorization?: string, target: RequestTarget = {}) => {
      const incoming = request(authorization, target);
      const before = calls.origins.length;
      const outgoing = await handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request: incoming });
      expect(outgoing).toEqual(request(authorization, target));
      // The origin this request was switched to, if any (undefined: the default origin).
      expect(calls.origins.length - before).toBeLessThanOrEqual(1);
      return calls.origins.length > before ? calls.origins.at(-1) : undefined;
    },
  };
}

/** Where a viewer request goes: its path and query string, as CloudFront Functions present them. */
interface RequestTarget {
  uri?: string;
  querystring?: Record<string, { value: string; multiValue?: { value: string }[] }>;
}

/** `/health?tenant=<id>`, as the control plane's routing probe (core routing.ts) sends it. */
const probe = (...tenants: string[]): RequestTarget => ({
  uri: HEALTH_PROBE_PATH,
  querystring: tenants.length === 0 ? {} : { tenant: { value: tenants[0]!, ...(tenants.length > 1 ? { multiValue: tenants.map((value) => ({ value })) } : {}) } },
});

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (claims: Record<string, unknown>) => `Bearer ${base64url({ alg: 'RS256', kid: 'k' })}.${base64url(claims)}.c2lnbmF0dXJl`;

export function routerSuite(fixture: () => InfraFixture): void {
  beforeAll(() => {
    infra = fixture();
  });

  describe('Router stack', () => {
    it('sends /auth/* and /admin/* to the control plane, everything else through the routing function to a cell', () => {
      const config = distribution();
      const originOf = (id: string) => config.Origins.find((origin) => origin.Id === id)!;
      expect(originOf(config.DefaultCacheBehavior.TargetOriginId).DomainName).toBe(cellDomain(cellIds[0]!));
      expect(config.DefaultCacheBehavior.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: infra.resolver.getAtt(router().stackName, infra.logicalId(infra.construct(router(), 'RoutingFunction')), 'FunctionARN') },
      ]);
      expect(config.CacheBehaviors.map((behavior) => behavior.PathPattern).sort()).toEqual(CONTROL_PLANE_PREFIXES.map((prefix) => `${prefix}*`).sort());
      for (const behavior of config.CacheBehaviors) {
        expect(originOf(behavior.TargetOriginId).DomainName).toBe(controlDomain());
        expect(behavior.FunctionAssociations).toBeUndefined();
      }
    });

    it('caches nothing, forwards every viewer header but Host, accepts every method, and speaks HTTPS only', () => {
      const config = distribution();
      for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
        expect(behavior).toMatchObject({
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        });
      }
      for (const origin of config.Origins) {
        expect(origin.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
        // The function swaps only the domain, so every API must serve the same stage path.
        expect(origin.OriginPath).toBe(`/${infra.stage}`);
      }
    });

    it("reads the control plane's routing map, on JavaScript runtime 2.0, within CloudFront's size limit", () => {
      const fn = routingFunction();
      expect(fn.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
      const store = infra.logicalId(infra.construct(infra.controlPlane, 'RoutingMap'));
      expect(fn.FunctionConfig.KeyValueStoreAssociations).toEqual([{ KeyValueStoreARN: infra.resolver.getAtt(infra.controlPlane.stackName, store, 'Arn') }]);
      expect(Buffer.byteLength(fn.FunctionCode)).toBeLessThanOrEqual(MAX_FUNCTION_CODE_BYTES);
      const { calls } = loadRoutingFunction({});
      expect(calls.kvsIds).toEqual([infra.resolver.getAtt(infra.controlPlane.stackName, store, 'Id')]);
    });
  });

  describe('router URL', () => {
    it("publishes the distribution's address under the name the control plane reads (ROUTER_URL_PARAMETER)", () => {
      const parameters = infra.resources(router(), 'AWS::SSM::Parameter');
      expect(parameters).toHaveLength(1);
      const domain = infra.resolver.getAtt(router().stackName, infra.logicalId(infra.construct(router(), 'Distribution')), 'DomainName');
      expect(parameters[0]!.properties).toMatchObject({ Type: 'String', Name: `/cellbook/${infra.stage}/router-url`, Value: `https://${domain}` });
      // The same name the probing control functions are given.
      const names = new Set(
        infra
          .resources(infra.controlPlane, 'AWS::Lambda::Function')
          .map((fn) => (fn.properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.ROUTER_URL_PARAMETER)
          .filter((name) => name !== undefined),
      );
      expect([...names]).toEqual([parameters[0]!.properties.Name]);
    });
  });

  describe('the routing function', () => {
    it("sends a tenant to the cell the routing map names, at that cell's API", async () => {
      const { route } = loadRoutingFunction({ 't-2': cellIds[1]!, 't-1': cellIds[0]! });
      expect(await route(bearer({ tenant_id: 't-2', sub: 'u' }))).toEqual({ domainName: cellDomain(cellIds[1]!) });
      expect(await route(bearer({ tenant_id: 't-1', sub: 'u' }))).toEqual({ domainName: cellDomain(cellIds[0]!) });
    });

    it('leaves a tenant the map does not know on the default cell, whose authorizer answers', async () => {
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]! });
      expect(await route(bearer({ tenant_id: 't-10' }))).toBeUndefined();
      expect(calls.lookups).toEqual(['t-10']);
    });

    it('does not look anything up without a readable tenant claim', async () => {
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]! });
      for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer not-a-jwt', bearer({ sub: 'operator' }), bearer({ tenant_id: 42 }), 'Bearer a.!!!.c']) {
        expect(await route(header), String(header)).toBeUndefined();
      }
      expect(calls.lookups).toEqual([]);
    });

    it('ignores a map entry naming a cell the router has no origin for', async () => {
      const { route } = loadRoutingFunction({ 't-1': 'cell-99', 't-2': 'constructor', 't-3': '__proto__' });
      for (const tenant of ['t-1', 't-2', 't-3']) expect(await route(bearer({ tenant_id: tenant }))).toBeUndefined();
    });

    it("sends a health probe (/health?tenant=<id>) to the probed tenant's cell, as the local router does", async () => {
      // The probe path is the cells' public health check route.
      expect(CELL_ROUTES.filter((route) => route.auth === 'none').map((route) => route.path)).toEqual([HEALTH_PROBE_PATH]);
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]!, 't-2': cellIds[2]! });
      expect(await route(undefined, probe('t-1'))).toEqual({ domainName: cellDomain(cellIds[1]!) });
      expect(await route(undefined, probe('t-2'))).toEqual({ domainName: cellDomain(cellIds[2]!) });
      expect(calls.lookups).toEqual(['t-1', 't-2']);
    });

    it('routes a probe by its query alone: a token on it does not count, and the first of repeated tenants wins', async () => {
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]!, 't-2': cellIds[2]! });
      expect(await route(bearer({ tenant_id: 't-2' }), probe('t-1'))).toEqual({ domainName: cellDomain(cellIds[1]!) });
      // URLSearchParams.get, which the local router uses, takes the first value too.
      expect(await route(undefined, probe('t-1', 't-2'))).toEqual({ domainName: cellDomain(cellIds[1]!) });
      expect(calls.lookups).toEqual(['t-1', 't-1']);
    });

    it('leaves a probe without a tenant, or for a tenant the map does not know, on the default cell', async () => {
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]! });
      expect(await route(undefined, probe())).toBeUndefined();
      expect(await route(undefined, { uri: HEALTH_PROBE_PATH, querystring: { tenant: { value: '' } } })).toBeUndefined();
      expect(calls.lookups).toEqual([]);
      expect(await route(undefined, probe('t-10'))).toBeUndefined();
      expect(calls.lookups).toEqual(['t-10']);
    });

    it('reads no tenant from the query anywhere but the health probe: other requests go by the token', async () => {
      const map = { 't-1': cellIds[1]!, 't-2': cellIds[2]! };
      const query = probe('t-1').querystring;
      const withToken = loadRoutingFunction(map);
      expect(await withToken.route(bearer({ tenant_id: 't-2' }), { uri: '/cases', querystring: query })).toEqual({ domainName: cellDomain(cellIds[2]!) });
      expect(withToken.calls.lookups).toEqual(['t-2']);
      for (const uri of ['/cases', `${HEALTH_PROBE_PATH}/x`, `${HEALTH_PROBE_PATH}/`]) {
        const { route, calls } = loadRoutingFunction(map);
        expect(await route(undefined, { uri, querystring: query }), uri).toBeUndefined();
        expect(calls.lookups, uri).toEqual([]);
      }
    });

    it('reads the tenant claim exactly as the local router does', async () => {
      const headers = [
        bearer({ tenant_id: 't-1' }),
        bearer({ tenant_id: 'acme-co-7', roles: ['admin'] }),
        bearer({ tenant_id: '' }),
        bearer({ sub: 'operator', roles: ['operator'] }),
        bearer({ tenant_id: ['t-1'] }),
        `Bearer ${base64url({ alg: 'none' })}.${Buffer.from('{"tenant_id":"t-5"}').toString('base64')}.x`,
        'bearer lower.case.scheme',
        `Bearer ${base64url({})}.${base64url({ tenant_id: 't-1' })}`,
        `Bearer ${base64url({})}.e30.sig extra`,
      ];
      for (const header of headers) {
        const { route, calls } = loadRoutingFunction({});
        await route(header);
        const local = unverifiedTenantClaim(header);
        expect(calls.lookups, header).toEqual(local === undefined ? [] : [local]);
      }
    });
  });
}
