import { rm } from 'node:fs/promises';
import { CELL_AUTHORIZER, CELL_ROUTES, CONTROL_ROUTES, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFunctions, type FunctionBundle } from './bundle.js';

let bundle: FunctionBundle | undefined;
afterAll(async () => {
  if (bundle) await rm(bundle.dir, { recursive: true, force: true });
});

describe('bundleFunctions', () => {
  it('builds every routed function and keeps AGPL and local-only code out of the Lambda bundles', async () => {
    const handlers = [...CELL_ROUTES.map((r) => r.handler), CELL_AUTHORIZER, ...CONTROL_ROUTES.map((r) => r.handler), OPERATOR_AUTHORIZER];
    bundle = await bundleFunctions(handlers);
    expect(Object.keys(bundle.functions).sort()).toEqual([...handlers].sort());
    // The worker host is the local stand-in for the Lambda runtime; everything else is function code.
    const functionInputs = bundle.inputs.filter((input) => !input.endsWith('lambda/worker-host.ts') && !input.endsWith('lambda/protocol.ts'));
    expect(functionInputs.some((input) => input.includes('packages/functions/src/'))).toBe(true);
    expect(functionInputs.filter((input) => /@cloud-copilot|packages\/local\/|dynalite/.test(input))).toEqual([]);
  });
});
