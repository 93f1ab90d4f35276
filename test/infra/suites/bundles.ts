import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELL_AUTHORIZER, CELL_ROUTES, CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { restApiMethods } from '../support/rest-api.js';
import type { SynthesizedApp } from '../support/synth.js';
import { ROUTING_MAP_WRITER } from '../../../stacks/constructs/routing-map-writer.js';

/**
 * Runs on the bundled synth (esbuild, ESM, minified, offline — as `sst deploy` builds).
 * It proves that every function's handler path resolves, that the bundle exports `handler`, and
 * that the route tables wire each route to the module core's route table names.
 */
const HANDLER_ROOT = 'packages/functions/src/';
/** Bundles are loaded on every cold start; past this size, start-up time is worth a look. */
const BUNDLE_BUDGET_BYTES = 1.5 * 1024 * 1024;

interface BundledFunction {
  stack: string;
  logicalId: string;
  handler: string;
  runtime: string;
  architectures: string[];
  assetDir: string;
  file: string;
  bytes: number;
}

let app: SynthesizedApp;
let functions: BundledFunction[];

function bundledFunctions(): BundledFunction[] {
  return app.stacks.flatMap((stack) =>
    Object.entries(app.json(stack).Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([logicalId, resource]) => {
        const props = resource.Properties as { Handler: string; Runtime: string; Architectures?: string[]; Code: { S3Key: string } };
        const assetDir = join(app.assembly.directory, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`);
        const file = join(assetDir, props.Handler.replace(/\.handler$/, '.mjs'));
        return {
          stack: stack.stackName,
          logicalId,
          handler: props.Handler,
          runtime: props.Runtime,
          architectures: props.Architectures ?? ['x86_64'],
          assetDir,
          file,
          bytes: existsSync(file) ? statSync(file).size : -1,
        };
      }),
  );
}

const ours = () => functions.filter((fn) => fn.handler.startsWith(HANDLER_ROOT));
const moduleOf = (fn: BundledFunction) => fn.handler.slice(HANDLER_ROOT.length).replace(/\.handler$/, '');

export function bundlesSuite(fixture: () => SynthesizedApp): void {
  beforeAll(() => {
    app = fixture();
    functions = bundledFunctions();
  });

  describe('function bundles', () => {
    it("builds every function of ours for nodejs22.x on arm64 (SST's own deploy-time handler, each cell's provider framework and the router's bucket-CORS caller aside)", () => {
      const others = functions.filter((fn) => !fn.handler.startsWith(HANDLER_ROOT));
      expect(others.map((fn) => `${fn.stack}/${fn.handler}`).sort()).toEqual(
        [
          ...app.stacks.map((stack) => `${stack.stackName}/index.handler`),
          ...[...app.cells.values()].map((stack) => `${stack.stackName}/framework.onEvent`),
          `${app.router.stackName}/index.handler`,
        ].sort(),
      );
      // SST's handler in every stack, and CDK's AwsCustomResource provider (one per stack) in the router's.
      const indexHandlers = others.filter((fn) => fn.handler === 'index.handler');
      const sst = indexHandlers.filter((fn) => fn.logicalId.startsWith('CustomResourceHandler'));
      expect(sst.map((fn) => fn.stack).sort()).toEqual(app.stacks.map((stack) => stack.stackName).sort());
      expect(indexHandlers.filter((fn) => !sst.includes(fn)).map((fn) => `${fn.stack}/${fn.logicalId}`)).toEqual([
        // CDK suffixes the singleton's id with a hash of its path.
        expect.stringMatching(new RegExp(`^${app.router.stackName}/AWS679f53fac002430cb0da5b7982bd2287`)),
      ]);
      for (const fn of ours()) expect(fn, fn.logicalId).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'] });
    });

    it('bundles each handler into one self-contained module that exports `handler`', () => {
      for (const fn of ours()) {
        expect(fn.bytes, fn.file).toBeGreaterThan(0);
        // Nothing left external: no node_modules shipped next to the bundle.
        expect(readdirSync(fn.assetDir), fn.assetDir).not.toContain('node_modules');
      }
      // Load each distinct bundle in a plain Node process, as Lambda's runtime would.
      const files = [...new Map(ours().map((fn) => [moduleOf(fn), fn.file])).values()];
      const script = `
        const results = {};
        for (const file of JSON.parse(process.argv[1])) results[file] = typeof (await import(file)).handler;
        process.stdout.write(JSON.stringify(results));
      `;
      const exported = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
        }),
      ) as Record<string, string>;
      expect(Object.values(exported)).toEqual(files.map(() => 'function'));
    });

    it(`keeps every bundle under ${BUNDLE_BUDGET_BYTES / 1024 / 1024} MB`, () => {
      const sizes = Object.fromEntries(ours().map((fn) => [moduleOf(fn), `${Math.round(fn.bytes / 1024)} KB`]));
      console.info('function bundle sizes (minified ESM, before zip):', sizes);
      for (const fn of ours()) expect(fn.bytes, moduleOf(fn)).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
    });

    it("carries in a cell's bundles no client of a service the cell never calls: the data plane reaches DynamoDB, STS and the broker only", () => {
      // esbuild keeps class names (keepNames, as SST builds): a bundled SDK client leaves its name in the text.
      const CONTROL_PLANE_CLIENTS = ['SSMClient', 'APIGatewayClient', 'CognitoIdentityProviderClient', 'EventBridgeClient', 'CloudFrontKeyValueStoreClient'];
      const cellHandlers = new Set<string>([...CELL_ROUTES.map((route) => route.handler), CELL_AUTHORIZER]);
      const cellBundles = ours().filter((fn) => cellHandlers.has(moduleOf(fn)));
      expect(new Set(cellBundles.map(moduleOf))).toEqual(cellHandlers);
      for (const fn of cellBundles) {
        const text = readFileSync(fn.file, 'utf8');
        for (const client of CONTROL_PLANE_CLIENTS) expect(text.includes(`"${client}"`), `${moduleOf(fn)} carries ${client}`).toBe(false);
      }
      // The marker does find a client where one is bundled: onboarding calls all of them but the KeyValueStore.
      const onboarding = readFileSync(ours().find((fn) => moduleOf(fn) === 'control/tenants-create')!.file, 'utf8');
      for (const client of CONTROL_PLANE_CLIENTS.slice(0, 4)) expect(onboarding.includes(`"${client}"`), client).toBe(true);
    });

    it('wires each cell route, and each control route, to the module the route table names', () => {
      const handlerOf = (stack: string) => {
        const byLogicalId = new Map(functions.filter((fn) => fn.stack === stack).map((fn) => [fn.logicalId, moduleOf(fn)]));
        return new Map(restApiMethods(app.json(app.stacks.find((s) => s.stackName === stack)!)).map((method) => [method.route, byLogicalId.get(method.functionLogicalId!)]));
      };
      for (const [, stack] of app.cells) {
        expect(Object.fromEntries(handlerOf(stack.stackName))).toEqual(Object.fromEntries(CELL_ROUTES.map((route) => [`${route.method} ${route.path}`, route.handler])));
      }
      expect(Object.fromEntries(handlerOf(app.controlPlane.stackName))).toEqual(
        Object.fromEntries(CONTROL_ROUTES.map((route) => [`${route.method} ${route.path}`, route.handler])),
      );
      const modules = ours().map(moduleOf);
      expect(modules.filter((module) => module === CELL_AUTHORIZER)).toHaveLength(app.cells.size);
      expect(modules.filter((module) => module === OPERATOR_AUTHORIZER)).toHaveLength(1);
      expect(modules.filter((module) => module === 'deploy/register-cell')).toHaveLength(app.cells.size);
      expect(modules.filter((module) => module === 'cognito/pre-token-generation')).toHaveLength(1);
      expect(modules.filter((module) => module === ROUTING_MAP_WRITER)).toHaveLength(1);
      for (const consumer of CONTROL_EVENT_CONSUMERS)
        expect(
          modules.filter((module) => module === consumer.handler),
          consumer.handler,
        ).toHaveLength(1);
      for (const job of CONTROL_SCHEDULES)
        expect(
          modules.filter((module) => module === job.handler),
          job.handler,
        ).toHaveLength(1);
    });

    it('ships the routing map writer with a working SigV4a signer: the bundle reads the registry and signs and sends a real KeyValueStore write', () => {
      const writer = ours().find((fn) => moduleOf(fn) === ROUTING_MAP_WRITER)!;
      const arn = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
      // A recorder answering as the KeyValueStore API does. The client puts the ARN's account id in
      // front of any endpoint's host, so every name resolves to the recorder here.
      const script = `
        import dns from 'node:dns';
        import http from 'node:http';
        const requests = [];
        const server = http.createServer((req, res) => {
          let body = '';
          req.on('data', (chunk) => (body += chunk));
          req.on('end', () => {
            requests.push({
              method: req.method,
              host: req.headers.host.replace(/:\\d+$/, ''),
              path: decodeURIComponent(req.url),
              algorithm: (req.headers.authorization ?? '').split(' ')[0],
              regionSet: req.headers['x-amz-region-set'],
              ifMatch: req.headers['if-match'],
              target: req.headers['x-amz-target'],
              body,
            });
            if (req.headers['x-amz-target']) {
              // The tenant registry (DynamoDB): the tenant is active in cell-2.
              res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
              res.end(JSON.stringify({ Item: { status: { S: 'ACTIVE' }, cellId: { S: 'cell-2' } } }));
              return;
            }
            res.writeHead(200, { 'content-type': 'application/json', etag: 'etag-' + requests.filter((request) => !request.target).length });
            res.end(JSON.stringify(req.method === 'GET'
              ? { KvsARN: process.env.ROUTING_MAP_ARN, Created: 1767225600, ItemCount: 0, TotalSizeInBytes: 0 }
              : { ItemCount: 1, TotalSizeInBytes: 10 }));
          });
        });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        const lookup = dns.lookup;
        dns.lookup = (host, options, callback) => lookup('127.0.0.1', options, callback);
        process.env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE = 'http://kvs.test:' + server.address().port;
        process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://dynamodb.test:' + server.address().port;
        const { handler } = await import(process.argv[1]);
        const detail = { tenantId: 'acme-7', cellId: 'cell-2', tier: 'basic', eventId: 'e', idempotencyKey: 'k', occurredAt: '2026-01-01T00:00:00Z', actor: 'operator', data: { cellId: 'cell-2', previousCellId: null } };
        await handler(
          { version: '0', id: 'e', 'detail-type': 'TenantRoutingChanged', source: 'cellbook.control', account: '123456789012', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail },
          { functionName: 'writer', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:writer', memoryLimitInMB: '1024', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30000 },
        );
        server.closeAllConnections();
        server.close();
        process.stdout.write(JSON.stringify(requests), () => process.exit(0));
      `;
      const requests = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script, writer.file], {
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '',
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
            AWS_SECRET_ACCESS_KEY: 'secret',
            ROUTING_MAP_ARN: arn,
            TENANTS_TABLE: 'tenants',
            POWERTOOLS_LOG_LEVEL: 'SILENT',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
          timeout: 30_000,
        }),
      ) as Record<string, unknown>[];
      const signed = { host: '123456789012.kvs.test', algorithm: 'AWS4-ECDSA-P256-SHA256', regionSet: '*' };
      // Where the registry says the tenant is now (SigV4, consistent reads of its record), before
      // the write and again after it…
      const registryReads = requests.filter((request) => request.target);
      expect(requests.map((request) => (request.target ? 'registry' : 'kvs'))).toEqual(['registry', 'kvs', 'kvs', 'registry']);
      for (const read of registryReads) {
        expect(read).toMatchObject({ method: 'POST', host: 'dynamodb.test', target: 'DynamoDB_20120810.GetItem', algorithm: 'AWS4-HMAC-SHA256' });
        expect(JSON.parse(read.body as string)).toMatchObject({ TableName: 'tenants', Key: { PK: { S: 'TENANT#acme-7' }, SK: { S: 'TENANT' } }, ConsistentRead: true });
      }
      // …and the KeyValueStore write, signed with SigV4a.
      expect(requests.filter((request) => !request.target)).toEqual([
        expect.objectContaining({ ...signed, method: 'GET', path: `/key-value-stores/${arn}` }),
        expect.objectContaining({ ...signed, method: 'PUT', path: `/key-value-stores/${arn}/keys/acme-7`, ifMatch: 'etag-1', body: JSON.stringify({ Value: 'cell-2' }) }),
      ]);
    });
  });
}
