import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@cellbook/core/releases/manifest';
import { releaseFromAssembly } from '../../scripts/release/cloud-assembly.js';

/**
 * `release-aws build` reads the cloud assembly `sst build` wrote. A fake assembly with the same
 * layout (manifest.json, a template and an asset manifest per stack, asset directories) stands in.
 */
let dir: string;

function write(path: string, content: string) {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
}

function stack(name: string, bundle: string) {
  write(`${name}.template.json`, JSON.stringify({ Resources: { Fn: { Properties: { Code: { S3Key: `${bundle}.zip` } } } } }));
  write(
    `${name}.assets.json`,
    JSON.stringify({
      version: '36.0.0',
      files: {
        [bundle]: { source: { path: `asset.${bundle}`, packaging: 'zip' }, destinations: { current: { bucketName: 'cdk-assets', objectKey: `${bundle}.zip` } } },
        [`${name}-template`]: { source: { path: `${name}.template.json`, packaging: 'file' }, destinations: { current: { bucketName: 'cdk-assets', objectKey: 't.json' } } },
      },
    }),
  );
  write(`asset.${bundle}/index.mjs`, `export const handler = () => '${bundle}';`);
  return {
    [name]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${name}.template.json` }, dependencies: [`${name}.assets`] },
    [`${name}.assets`]: { type: 'cdk:asset-manifest', properties: { file: `${name}.assets.json` } },
  };
}

function assembly() {
  write(
    'manifest.json',
    JSON.stringify({
      version: '36.0.0',
      artifacts: { ...stack('prod-cellbook-ControlPlane', 'c0'), ...stack('prod-cellbook-pool-1', 'a1'), ...stack('prod-cellbook-pool-2', 'b2') },
    }),
  );
}

const build = (cellIds = ['pool-1', 'pool-2']) =>
  releaseFromAssembly({ assemblyDir: dir, namePrefix: 'prod-cellbook', cellIds, commit: 'abc123', config: { stage: 'prod', region: 'eu-west-1' } });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'assembly-'));
  assembly();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('releaseFromAssembly', () => {
  it("lists each cell stack's template and the bundles its template references, by sha256, and no other stack's", () => {
    const { manifest, cells } = build();
    expect(Object.keys(manifest.artefacts).sort()).toEqual(['assets/a1', 'assets/b2', 'pool-1.template.json', 'pool-2.template.json']);
    expect(manifest.artefacts['pool-1.template.json']).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.config).toEqual({ stage: 'prod', region: 'eu-west-1' });
    expect(cells.map((cell) => [cell.cellId, cell.stackName])).toEqual([
      ['pool-1', 'prod-cellbook-pool-1'],
      ['pool-2', 'prod-cellbook-pool-2'],
    ]);
  });

  it('gives the same id to the same build, and another as soon as one byte of a bundle changes', () => {
    const first = build().releaseId;
    expect(build().releaseId).toBe(first);
    write('asset.b2/index.mjs', "export const handler = () => 'B2';");
    expect(build().releaseId).not.toBe(first);
  });

  it('gives another id when a template changes', () => {
    const first = build();
    write('prod-cellbook-pool-1.template.json', '{"Resources":{}}');
    const second = build();
    expect(second.manifest.artefacts['pool-1.template.json']).toBe(sha256('{"Resources":{}}'));
    expect(second.releaseId).not.toBe(first.releaseId);
  });

  it('refuses an assembly without the stack of a catalogued cell', () => {
    expect(() => build(['pool-1', 'dedicated-1'])).toThrow(/no stack prod-cellbook-dedicated-1/);
  });
});
