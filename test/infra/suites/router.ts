import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { apiPreflight, browserOriginsForStage, evidenceBucketCorsConfiguration, WEB_APP_PATH, webAppSecurityHeaders } from '@cellbook/core/access/browser-cors';
import { tenantS3Config } from '@cellbook/core/tenancy/tenant-bucket';
import { CELL_ROUTES, CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import { unverifiedTenantClaim } from '@cellbook/local/router';
import { HEALTH_PROBE_PATH, MAX_FUNCTION_CODE_BYTES, routingFunctionCode } from '../../../stacks/constructs/routing-function.js';
import type { InfraFixture } from '../support/app.js';
import { cellBuckets, evidenceCorsCalls } from '../support/evidence-cors.js';

/** CloudFront's managed policies, by their documented ids. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

let infra: InfraFixture;

const router = () => infra.router;
const cellIds = Cell.CELL_CATALOG.map((cell) => cell.cellId);
const cellDomain = (cellId: string) => `${infra.ref(infra.cells.get(cellId)!, `Api-${cellId}/Api`)}.execute-api.${infra.region}.amazonaws.com`;
const controlDomain = () => `${infra.ref(infra.controlPlane, 'ControlApi/Api')}.execute-api.${infra.region}.amazonaws.com`;

// biome-ignore lint/suspicious/noExplicitAny: test ergonomics — a synthesized cache behaviour read field by field, where a missing field fails the assertion anyway.
type CacheBehavior = Record<string, any>;

interface DistributionConfig {
  Origins: {
    Id: string;
    DomainName: string;
    OriginPath: string;
    CustomOriginConfig?: { OriginProtocolPolicy: string };
    S3OriginConfig?: Record<string, unknown>;
    OriginAccessControlId?: string;
  }[];
  DefaultCacheBehavior: CacheBehavior;
  CacheBehaviors: CacheBehavior[];
}

function distribution(): DistributionConfig {
  const [resource] = infra.resources(router(), 'AWS::CloudFront::Distribution');
  return resource!.properties.DistributionConfig as DistributionConfig;
}

/** Every behaviour but the web app's: the APIs. */
function apiBehaviors(): CacheBehavior[] {
  const config = distribution();
  return [config.DefaultCacheBehavior, ...config.CacheBehaviors.filter((behavior) => behavior.PathPattern !== `${WEB_APP_PATH}*`)];
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
function loadRoutingFunction(routingMap: Record<string, string>, code = routingFunction().FunctionCode) {
  const [firstLine, ...rest] = code.split('\n');
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
    /** What the function returns for a raw request: the request (maybe rewritten) or its own response. */
    run: (incoming: { method: string; uri: string; headers?: Record<string, string> }) =>
      handler({
        version: '1.0',
        context: { eventType: 'viewer-request' },
        viewer: { ip: '192.0.2.1' },
        request: {
          method: incoming.method,
          uri: incoming.uri,
          querystring: {},
          headers: Object.fromEntries(Object.entries(incoming.headers ?? {}).map(([name, value]) => [name, { value }])),
          cookies: {},
        },
      }) as Promise<{ statusCode?: number; uri?: string; headers: Record<string, { value: string }> }>,
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
      expect(config.CacheBehaviors.map((behavior) => behavior.PathPattern).sort()).toEqual(
        [...CONTROL_PLANE_PREFIXES.map((prefix) => `${prefix}*`), `${WEB_APP_PATH}*`].sort(),
      );
      for (const behavior of apiBehaviors().filter((candidate) => candidate.PathPattern !== undefined)) {
        expect(originOf(behavior.TargetOriginId).DomainName).toBe(controlDomain());
        // The function runs there too, for preflights; it never switches a control-plane origin (below).
        expect(behavior.FunctionAssociations).toEqual(config.DefaultCacheBehavior.FunctionAssociations);
      }
    });

    it('caches nothing, forwards every viewer header but Host, accepts every method, and speaks HTTPS only', () => {
      const config = distribution();
      for (const behavior of apiBehaviors()) {
        expect(behavior).toMatchObject({
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        });
      }
      for (const origin of config.Origins.filter((candidate) => candidate.CustomOriginConfig !== undefined)) {
        expect(origin.CustomOriginConfig!.OriginProtocolPolicy).toBe('https-only');
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
      // (The StaticSite publishes its own, SST's binding of the site's URL.)
      const parameters = infra
        .resources(router(), 'AWS::SSM::Parameter')
        .filter((parameter) => parameter.logicalId === infra.logicalId(infra.construct(router(), 'RouterUrlParameter')));
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

  describe('the web app on the router’s origin', () => {
    const webBucketId = () => infra.logicalId(infra.construct(router(), 'WebAppBucket'));
    const webBehavior = () => distribution().CacheBehaviors.find((behavior) => behavior.PathPattern === `${WEB_APP_PATH}*`)!;

    it('reads /app/* from a private bucket through Origin Access Control, over HTTPS, cached, with the same function', () => {
      const config = distribution();
      const behavior = webBehavior();
      const origin = config.Origins.find((candidate) => candidate.Id === behavior.TargetOriginId)!;
      expect(origin.CustomOriginConfig).toBeUndefined();
      expect(origin.DomainName).toBe(infra.resolver.getAtt(router().stackName, webBucketId(), 'RegionalDomainName'));
      const [oac] = infra.resources(router(), 'AWS::CloudFront::OriginAccessControl');
      expect(oac!.properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
      expect(origin.OriginAccessControlId).toBe(infra.resolver.getAtt(router().stackName, oac!.logicalId, 'Id'));
      expect(behavior).toMatchObject({ CachePolicyId: CACHING_OPTIMIZED, ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD', 'OPTIONS'] });
      expect(behavior.FunctionAssociations).toEqual(config.DefaultCacheBehavior.FunctionAssociations);
      const [bucket] = infra.resources(router(), 'AWS::S3::Bucket');
      expect(bucket!.properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      // Only this distribution may read the objects (the OAC's bucket policy names it).
      const [policy] = infra.resources(router(), 'AWS::S3::BucketPolicy');
      const statements = (policy!.properties.PolicyDocument as { Statement: { Effect: string; Principal?: unknown; Action: unknown; Condition?: unknown }[] }).Statement;
      const reads = statements.filter((statement) => statement.Effect === 'Allow');
      expect(reads).toHaveLength(1);
      expect(reads[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
      expect(JSON.stringify(reads[0]!.Condition)).toContain(infra.resolver.ref(router().stackName, infra.logicalId(infra.construct(router(), 'Distribution'))));
    });

    it('answers with the strict security headers core defines, allowing the origin of the presigned URLs the app uploads to', async () => {
      const behavior = webBehavior();
      const policy = infra
        .resources(router(), 'AWS::CloudFront::ResponseHeadersPolicy')
        .find((candidate) => candidate.logicalId === infra.logicalId(infra.construct(router(), 'WebAppHeaders')))!;
      expect(behavior.ResponseHeadersPolicyId).toBe(infra.resolver.ref(router().stackName, policy.logicalId));
      // Presigned exactly as the cells' functions presign (core's tenantS3Config, in the region the
      // functions run in), for every cell's bucket: the browser's fetch goes to these URLs' origins.
      const presigner = new S3Client({ ...tenantS3Config({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' }), region: infra.region });
      const urls = await Promise.all(
        [...cellBuckets(infra).values()].map(({ name }) => getSignedUrl(presigner, new PutObjectCommand({ Bucket: name, Key: 'tenant=t-1/evidence/e-1' }), { expiresIn: 60 })),
      );
      presigner.destroy();
      const expected = webAppSecurityHeaders([...new Set(urls.map((url) => new URL(url).origin))]);
      const headers = (policy.properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
      expect(headers.ContentSecurityPolicy).toEqual({ ContentSecurityPolicy: expected['content-security-policy'], Override: true });
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: expected['referrer-policy'], Override: true });
    });

    it('lets the web app upload to every cell’s bucket: each bucket’s CORS rule, set by the router, allows its origin (and the stage’s)', () => {
      const calls = evidenceCorsCalls(infra);
      const buckets = [...cellBuckets(infra).values()];
      expect([...calls.keys()].sort()).toEqual(buckets.map(({ name }) => name).sort());
      const domain = infra.resolver.getAtt(router().stackName, infra.logicalId(infra.construct(router(), 'Distribution')), 'DomainName');
      const cors = evidenceBucketCorsConfiguration([`https://${domain}`, ...browserOriginsForStage(infra.stage)]);
      for (const { name } of buckets) {
        const call = calls.get(name)!;
        // Written whole on create and on every update, in the bucket's own region.
        const put = { service: 'S3', action: 'putBucketCors', region: infra.region, parameters: { Bucket: name, CORSConfiguration: cors } };
        expect(call.create).toMatchObject(put);
        expect(call.update).toMatchObject(put);
        expect(call.delete).toMatchObject({
          service: 'S3',
          action: 'deleteBucketCors',
          region: infra.region,
          parameters: { Bucket: name },
          ignoreErrorCodesMatching: 'NoSuchBucket',
        });
      }
      // What the app's upload sends, and what its download needs, is in the rule.
      const [rule] = cors.CORSRules;
      expect(rule!.AllowedMethods).toEqual(expect.arrayContaining(['PUT', 'GET']));
      expect(rule!.AllowedHeaders).toEqual(expect.arrayContaining(['content-type', 'content-length', 'x-amz-checksum-sha256']));
    });

    it('sets those rules with a function that may change CORS on exactly the cells’ buckets, and nothing else', () => {
      const role = infra.role(router(), 'EvidenceCorsRole');
      const provider = infra.resources(router(), 'AWS::Lambda::Function').filter((fn) => fn.properties.Role === role.arn);
      expect(provider.map((fn) => fn.logicalId)).toEqual([expect.stringMatching(/^AWS679f53fac002430cb0da5b7982bd2287/)]);
      type Statement = { Effect: string; Action: string | string[]; Resource: string | string[] };
      const statements = role.policies.flatMap(({ policy }) => (policy as unknown as { Statement: Statement[] }).Statement);
      const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
      expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
      const s3 = statements.filter((statement) => list(statement.Action).some((action) => action.startsWith('s3:')));
      expect(s3.flatMap((statement) => list(statement.Action))).toEqual(s3.map(() => 's3:PutBucketCORS'));
      expect(s3.flatMap((statement) => list(statement.Resource)).sort()).toEqual([...cellBuckets(infra).values()].map(({ arn }) => arn).sort());
      // Everything else is log writes on its own log group.
      const logGroup = infra.arn(router(), 'EvidenceCorsLogs');
      for (const statement of statements.filter((candidate) => !s3.includes(candidate))) {
        expect(
          list(statement.Action).every((action) => action.startsWith('logs:')),
          JSON.stringify(statement),
        ).toBe(true);
        expect(list(statement.Resource)).toEqual([logGroup]);
      }
    });

    it('deploys the build with SST’s StaticSite into that bucket, invalidating the router’s distribution — no distribution of its own', () => {
      expect(infra.resources(router(), 'AWS::CloudFront::Distribution')).toHaveLength(1);
      const [uploader] = infra.resources(router(), 'Custom::S3Uploader');
      expect(uploader!.properties.destinationBucketName).toBe(infra.resolver.ref(router().stackName, webBucketId()));
      const [invalidator] = infra.resources(router(), 'Custom::CloudFrontInvalidator');
      expect(invalidator!.properties.distributionId).toBe(infra.resolver.ref(router().stackName, infra.logicalId(infra.construct(router(), 'Distribution'))));
      // Vite's hashed assets may be kept for a year; index.html is revalidated (SST's default for the rest).
      expect(uploader!.properties.fileOptions).toContainEqual({ files: 'assets/**', cacheControl: 'public,max-age=31536000,immutable' });
    });

    it('sends / (and /app) to /app/; other methods on / reach the API as before', async () => {
      const { run } = loadRoutingFunction({});
      for (const [method, uri] of [
        ['GET', '/'],
        ['HEAD', '/'],
        ['GET', '/app'],
      ] as const) {
        const answer = await run({ method, uri });
        expect(answer.statusCode, `${method} ${uri}`).toBe(302);
        expect(answer.headers.location).toEqual({ value: WEB_APP_PATH });
      }
      expect((await run({ method: 'POST', uri: '/' })).statusCode).toBeUndefined();
    });

    it('maps /app/* to the bucket’s objects: files by name, client-side routes to /index.html', async () => {
      const { run, calls } = loadRoutingFunction({});
      const cases: [string, string][] = [
        ['/app/', '/index.html'],
        ['/app/cases/123', '/index.html'],
        ['/app/admin/tenants/t-1/usage', '/index.html'],
        ['/app/assets/index-4f2a9c.js', '/assets/index-4f2a9c.js'],
        ['/app/assets/fonts/inter', '/assets/fonts/inter'],
        ['/app/favicon.ico', '/favicon.ico'],
      ];
      for (const [uri, object] of cases) expect((await run({ method: 'GET', uri, headers: { authorization: bearer({ tenant_id: 't-1' }) } })).uri, uri).toBe(object);
      expect(calls.lookups).toEqual([]);
      expect(calls.origins).toEqual([]);
    });
  });

  describe('CORS at the edge', () => {
    const stageOrigins = () => browserOriginsForStage(infra.stage);
    /** The routing function's inputs as synthesized, read back from its code. */
    const synthesizedInputs = () => {
      const code = routingFunction().FunctionCode;
      const value = (name: string) => JSON.parse(new RegExp(`^var ${name} = (.*);$`, 'm').exec(code)![1]!);
      const routingMapId = /^var routingMap = cf\.kvs\((.*)\);$/m.exec(code)![1]!;
      return { routingMapId: JSON.parse(routingMapId) as string, cellOrigins: value('cellOrigins') as Record<string, string> };
    };

    it('builds the function from the stage’s browser origins (core browser-cors.ts)', () => {
      expect(routingFunction().FunctionCode).toBe(routingFunctionCode({ ...synthesizedInputs(), allowedOrigins: stageOrigins() }));
    });

    it('puts the stage’s origins, and only them, on actual API responses (a stage listing none gets no CORS policy)', () => {
      const policies = infra
        .resources(router(), 'AWS::CloudFront::ResponseHeadersPolicy')
        .filter((policy) => 'CorsConfig' in (policy.properties.ResponseHeadersPolicyConfig as object));
      if (stageOrigins().length === 0) {
        expect(policies).toEqual([]);
        for (const behavior of apiBehaviors()) expect(behavior.ResponseHeadersPolicyId).toBeUndefined();
        return;
      }
      expect(policies).toHaveLength(1);
      const cors = (policies[0]!.properties.ResponseHeadersPolicyConfig as { CorsConfig: { AccessControlAllowOrigins: { Items: string[] }; OriginOverride: boolean } })
        .CorsConfig;
      expect(cors.AccessControlAllowOrigins.Items).toEqual([...stageOrigins()]);
      expect(cors.OriginOverride).toBe(true);
      for (const behavior of apiBehaviors()) expect(behavior.ResponseHeadersPolicyId).toBe(infra.resolver.ref(router().stackName, policies[0]!.logicalId));
    });

    it('answers every preflight itself, on every path, exactly as the local router decides', async () => {
      const allowed = ['https://portal.example.com', 'http://localhost:5173'];
      const { run, calls } = loadRoutingFunction({ 't-1': cellIds[1]! }, routingFunctionCode({ ...synthesizedInputs(), allowedOrigins: allowed }));
      const paths = ['/cases', '/cases/c-1/notes', '/auth/token', '/admin/tenants', '/app/', '/', '/no/such/route'];
      const origins = [...allowed, 'https://portal.example.com.evil.net', 'null', undefined];
      const requests: [method: string | undefined, headers: string | undefined][] = [
        ['POST', 'authorization, content-type'],
        ['patch', 'Content-Type'],
        ['DELETE', undefined],
        ['PUT', undefined],
        ['GET', 'authorization, x-amz-security-token'],
        [undefined, undefined],
      ];
      for (const uri of paths)
        for (const origin of origins)
          for (const [method, headers] of requests) {
            const incoming: Record<string, string> = {
              ...(origin === undefined ? {} : { origin }),
              ...(method === undefined ? {} : { 'access-control-request-method': method }),
              ...(headers === undefined ? {} : { 'access-control-request-headers': headers }),
              authorization: bearer({ tenant_id: 't-1' }),
            };
            const label = `${uri} ${origin} ${method} ${headers}`;
            const answer = await run({ method: 'OPTIONS', uri, headers: incoming });
            const local = apiPreflight(allowed, origin, method, headers);
            expect(answer.statusCode, label).toBe(local.allowed ? 204 : 403);
            const values = Object.fromEntries(Object.entries(answer.headers).map(([name, header]) => [name, header.value]));
            expect(values, label).toEqual(local.allowed ? local.headers : {});
          }
      // A preflight never reaches an origin, nor the routing map.
      expect(calls.lookups).toEqual([]);
      expect(calls.origins).toEqual([]);
    });

    it('never switches the origin of a control-plane request, whatever its token says', async () => {
      const { route, calls } = loadRoutingFunction({ 't-1': cellIds[1]! });
      for (const uri of ['/auth/token', '/admin/tenants', '/admin/tenants/t-1/usage']) expect(await route(bearer({ tenant_id: 't-1' }), { uri }), uri).toBeUndefined();
      expect(calls.lookups).toEqual([]);
    });
  });
}
