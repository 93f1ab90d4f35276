import vm from 'node:vm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { API_CORS, EVIDENCE_CORS } from '@cellbook/core/access/browser-cors';
import { infraFixture, type InfraFixture } from './support/app.js';
import { cellBuckets, evidenceCorsCalls } from './support/evidence-cors.js';

/**
 * A stage that allows browser origins (the synthesized test stage allows none): the one list in
 * core reaches every place a browser meets CORS in AWS — the router's preflights (its CloudFront
 * Function), its actual responses (a response headers policy on every API behaviour) and the cells'
 * evidence buckets (whose CORS rule the router sets). The list is stood in for here; the wiring under test is the stacks'.
 */
const STAGE = 'cors-check';
const ORIGINS = ['https://portal.example.com', 'http://localhost:5173'];

vi.mock('@cellbook/core/access/browser-cors', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@cellbook/core/access/browser-cors')>();
  return { ...actual, browserOriginsForStage: (stage: string) => (stage === STAGE ? ORIGINS : []) };
});

let infra: InfraFixture;

beforeAll(async () => {
  infra = await infraFixture({ stage: STAGE });
}, 240_000);

// biome-ignore lint/suspicious/noExplicitAny: test ergonomics — a synthesized distribution read field by field, where a missing field fails the assertion anyway.
type Config = Record<string, any>;

describe('a stage that allows browser origins', () => {
  it('answers their preflights at the edge, on every API path', async () => {
    const [fn] = infra.resources(infra.router, 'AWS::CloudFront::Function');
    const [, ...rest] = (fn!.properties.FunctionCode as string).split('\n');
    const context = vm.createContext({ cf: { kvs: () => ({ get: async () => Promise.reject(new Error('no key')) }), updateRequestOrigin: () => undefined }, Buffer });
    vm.runInContext(`${rest.join('\n')}\nglobalThis.handler = handler;`, context);
    const handler = context.handler as (event: unknown) => Promise<{ statusCode?: number; headers: Record<string, { value: string }> }>;
    const preflight = (uri: string, origin: string) =>
      handler({
        version: '1.0',
        context: { eventType: 'viewer-request' },
        viewer: { ip: '192.0.2.1' },
        request: { method: 'OPTIONS', uri, querystring: {}, cookies: {}, headers: { origin: { value: origin }, 'access-control-request-method': { value: 'POST' } } },
      });
    for (const uri of ['/cases', '/auth/token', '/admin/tenants']) {
      for (const origin of ORIGINS) {
        const answer = await preflight(uri, origin);
        expect(answer.statusCode).toBe(204);
        expect(answer.headers['access-control-allow-origin']).toEqual({ value: origin });
      }
      expect((await preflight(uri, 'https://evil.example.net')).statusCode).toBe(403);
    }
  });

  it('puts exactly those origins on every API behaviour’s actual responses, overriding the origins’', () => {
    const policies = infra
      .resources(infra.router, 'AWS::CloudFront::ResponseHeadersPolicy')
      .filter((policy) => 'CorsConfig' in (policy.properties.ResponseHeadersPolicyConfig as object));
    expect(policies).toHaveLength(1);
    const cors = (policies[0]!.properties.ResponseHeadersPolicyConfig as Config).CorsConfig;
    expect(cors).toMatchObject({
      AccessControlAllowOrigins: { Items: ORIGINS },
      AccessControlAllowCredentials: false,
      AccessControlAllowMethods: { Items: [...API_CORS.allowedMethods] },
      AccessControlAllowHeaders: { Items: [...API_CORS.allowedHeaders] },
      AccessControlExposeHeaders: { Items: [...API_CORS.exposedHeaders] },
      OriginOverride: true,
    });
    const [distribution] = infra.resources(infra.router, 'AWS::CloudFront::Distribution');
    const config = distribution!.properties.DistributionConfig as Config;
    const policyId = infra.resolver.ref(infra.router.stackName, policies[0]!.logicalId);
    const api = [config.DefaultCacheBehavior, ...config.CacheBehaviors.filter((behavior: Config) => behavior.PathPattern !== '/app/*')];
    expect(api).toHaveLength(3);
    for (const behavior of api) expect(behavior.ResponseHeadersPolicyId).toBe(policyId);
  });

  it('lets the same origins, after the web app’s own, upload evidence to every cell’s bucket', () => {
    const calls = evidenceCorsCalls(infra);
    const domain = infra.resolver.getAtt(infra.router.stackName, infra.logicalId(infra.construct(infra.router, 'Distribution')), 'DomainName');
    const buckets = [...cellBuckets(infra).values()];
    expect(calls.size).toBe(buckets.length);
    for (const { name } of buckets) {
      for (const call of [calls.get(name)!.create, calls.get(name)!.update]) {
        expect(call.parameters.CORSConfiguration).toEqual({
          CORSRules: [
            {
              AllowedOrigins: [`https://${domain}`, ...ORIGINS],
              AllowedMethods: [...EVIDENCE_CORS.allowedMethods],
              AllowedHeaders: [...EVIDENCE_CORS.allowedHeaders],
              ExposeHeaders: [...EVIDENCE_CORS.exposedHeaders],
              MaxAgeSeconds: EVIDENCE_CORS.maxAgeSeconds,
            },
          ],
        });
      }
    }
    // The cells declare none of their own: one writer per bucket.
    for (const cell of infra.cells.values()) {
      for (const bucket of infra.resources(cell, 'AWS::S3::Bucket')) expect(bucket.properties.CorsConfiguration).toBeUndefined();
    }
  });
});
