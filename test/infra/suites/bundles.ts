import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELL_AUTHORIZER, CELL_ROUTES, CONTROL_ROUTES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { restApiMethods } from '../support/rest-api.js';
import type { SynthesizedApp } from '../support/synth.js';

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
    it("builds every function of ours for nodejs22.x on arm64 (SST's own deploy-time handler aside)", () => {
      const others = functions.filter((fn) => !fn.handler.startsWith(HANDLER_ROOT));
      expect(others.map((fn) => fn.logicalId)).toEqual(app.stacks.map(() => expect.stringMatching(/^CustomResourceHandler/)));
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
    });
  });
}
