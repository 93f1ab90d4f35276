import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseIdOf, sha256 } from '@cellbook/core/releases/manifest';
import { CELL_AUTHORIZER, CELL_ROUTES } from '@cellbook/functions/routes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildRelease, loadRelease, parseFault, workingTreeCommit, type LocalRelease } from './build.js';

let outRoot: string;
let plain: LocalRelease;

beforeAll(async () => {
  outRoot = await mkdtemp(join(tmpdir(), 'cellbook-release-spec-'));
  plain = await buildRelease({ outRoot, commit: 'abc123' });
});
afterAll(async () => {
  if (outRoot) await rm(outRoot, { recursive: true, force: true });
});

describe('buildRelease', () => {
  it('bundles exactly the cell functions, each artefact named in the manifest with its sha256, under <outRoot>/<releaseId>', async () => {
    expect(plain.releaseId).toBe(releaseIdOf(plain.manifest));
    expect(plain.dir).toBe(join(outRoot, plain.releaseId));
    expect(Object.keys(plain.functions).sort()).toEqual([...CELL_ROUTES.map((route) => route.handler), CELL_AUTHORIZER].sort());
    // No control-plane function is part of a cell's release.
    expect(Object.keys(plain.manifest.artefacts).filter((path) => path.startsWith('control/'))).toEqual([]);
    expect(plain.manifest.artefacts['__worker-host.mjs']).toBeDefined();
    for (const [path, digest] of Object.entries(plain.manifest.artefacts)) expect(sha256(await readFile(join(plain.dir, path)))).toBe(digest);
    expect(plain.manifest).toMatchObject({ commit: 'abc123', config: {} });
    // The stored manifest is the one the id is computed from.
    const stored = JSON.parse(await readFile(join(plain.dir, 'manifest.json'), 'utf8'));
    expect(stored).toEqual({ releaseId: plain.releaseId, ...plain.manifest });
  });

  it('gives the same tree and commit the same id, and keeps the stored release (content-addressed)', async () => {
    const again = await buildRelease({ outRoot, commit: 'abc123' });
    expect(again.releaseId).toBe(plain.releaseId);
    expect(again.manifest).toEqual(plain.manifest);
    // No staging directory left behind, one directory per release.
    expect((await readdir(outRoot)).filter((name) => name.startsWith('.staging'))).toEqual([]);
  });

  it('gives another commit, another setting or an injected fault another id', async () => {
    const otherCommit = await buildRelease({ outRoot, commit: 'def456' });
    const otherConfig = await buildRelease({ outRoot, commit: 'abc123', config: { banner: 'hello' } });
    const faulty = await buildRelease({ outRoot, commit: 'abc123', fault: { route: 'GET /cases', kind: 'error' } });
    const ids = [plain, otherCommit, otherConfig, faulty].map((release) => release.releaseId);
    expect(new Set(ids).size).toBe(4);
    expect(faulty.manifest.config).toEqual({ fault: 'GET /cases:error' });
    // Only the faulty route's bundle differs (its shared chunks aside).
    expect(faulty.manifest.artefacts['cases/list.mjs']).not.toBe(plain.manifest.artefacts['cases/list.mjs']);
    expect(faulty.manifest.artefacts['cases/create.mjs']).toBe(plain.manifest.artefacts['cases/create.mjs']);
  });

  it("wraps the fault around that route's handler at build time: 'error' throws as a bug would, 'slow' waits then runs the real handler", async () => {
    const failing = await buildRelease({ outRoot, commit: 'abc123', fault: { route: 'GET /cases', kind: 'error' } });
    const { handler: failingHandler } = (await import(failing.functions['cases/list']!)) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
    await expect(failingHandler({}, {})).rejects.toThrow('injected fault GET /cases:error');

    const slow = await buildRelease({ outRoot, commit: 'abc123', fault: { route: 'GET /health', kind: 'slow', delayMs: 300 } });
    expect(slow.manifest.config).toEqual({ fault: 'GET /health:slow:300' });
    const { handler: slowHandler } = (await import(slow.functions.health!)) as {
      handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    };
    vi.stubEnv('CELL_ID', 'cell-spec');
    const started = performance.now();
    const answer = await slowHandler({ httpMethod: 'GET', path: '/health', headers: {}, requestContext: { requestId: 'spec' } }, { awsRequestId: 'spec' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    vi.unstubAllEnvs();
    // The real handler answered, after the delay.
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ cellId: 'cell-spec', status: 'ok' });
  });

  it('refuses a fault on a route the cell does not serve, and a setting named like the fault', async () => {
    await expect(buildRelease({ outRoot, commit: 'abc123', fault: { route: 'GET /admin/tenants', kind: 'error' } })).rejects.toThrow(
      'fault route "GET /admin/tenants" is not a cell route',
    );
    await expect(buildRelease({ outRoot, commit: 'abc123', fault: { route: 'GET /cases', kind: 'slow', delayMs: 0 } })).rejects.toThrow('delay must be from 1');
    await expect(buildRelease({ outRoot, commit: 'abc123', config: { fault: 'none' }, fault: { route: 'GET /cases', kind: 'error' } })).rejects.toThrow('reserved');
  });
});

describe('loadRelease', () => {
  /** A copy of the plain release under another out root, to tamper with. */
  async function copyOfPlain(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'cellbook-release-copy-'));
    await buildRelease({ outRoot: root, commit: 'abc123' });
    return root;
  }

  it('loads a stored release whose every artefact matches its manifest', async () => {
    const loaded = await loadRelease(outRoot, plain.releaseId);
    expect(loaded).toEqual(plain);
  });

  it('refuses a release with a tampered artefact, a missing artefact, or a manifest edited after the build', async () => {
    const root = await copyOfPlain();
    try {
      const dir = join(root, plain.releaseId);
      const original = await readFile(join(dir, 'cases/list.mjs'), 'utf8');
      await writeFile(join(dir, 'cases/list.mjs'), `${original}\n// tampered\n`);
      await expect(loadRelease(root, plain.releaseId)).rejects.toThrow(`release ${plain.releaseId}: artefact cases/list.mjs does not match its sha256`);
      await writeFile(join(dir, 'cases/list.mjs'), original);
      await expect(loadRelease(root, plain.releaseId)).resolves.toMatchObject({ releaseId: plain.releaseId });

      await rm(join(dir, 'authorizer.mjs'));
      await expect(loadRelease(root, plain.releaseId)).rejects.toThrow('artefact authorizer.mjs is missing');

      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, config: { fault: 'none' } }));
      await expect(loadRelease(root, plain.releaseId)).rejects.toThrow(/its manifest is that of r-[0-9a-f]{16}/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses an unknown release and a malformed id', async () => {
    await expect(loadRelease(outRoot, 'r-0000000000000000')).rejects.toThrow('no readable manifest.json');
    await expect(loadRelease(outRoot, '../etc')).rejects.toThrow('not a release id');
  });
});

describe('parseFault', () => {
  it('reads "METHOD /path:error" and "METHOD /path:slow[:ms]"', () => {
    expect(parseFault('GET /cases:error')).toEqual({ route: 'GET /cases', kind: 'error' });
    expect(parseFault('POST /cases:slow:4000')).toEqual({ route: 'POST /cases', kind: 'slow', delayMs: 4000 });
    expect(parseFault('patch /cases/{caseId}:slow')).toEqual({ route: 'PATCH /cases/{caseId}', kind: 'slow' });
  });

  it.each([
    ['GET /cases', 'is not of the form "METHOD /path:error"'],
    ['GET /cases:explode', 'is not of the form'],
    ['/cases:error', 'is not of the form'],
    ['GET /cases:error:100', 'only a slow fault takes a delay'],
    ['GET /cases:slow:0', 'the delay must be from 1 to 120000 ms'],
    ['GET /cases:slow:999999', 'the delay must be from 1 to 120000 ms'],
    ['GET /nowhere:error', 'fault route "GET /nowhere" is not a cell route'],
    ['DELETE /cases:error', 'is not a cell route'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseFault(text)).toThrow(message);
  });
});

describe('workingTreeCommit', () => {
  it('names the checkout’s commit, marked +dirty when the tree has changes, and "unknown" outside git', async () => {
    expect(await workingTreeCommit()).toMatch(/^[0-9a-f]{40}(\+dirty)?$/);
    expect(await workingTreeCommit(outRoot)).toBe('unknown');
  });
});
