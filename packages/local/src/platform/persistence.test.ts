/**
 * The local platform's data directory (`npm start`): what it keeps is its owner's alone, a change is
 * on disk by the time the call that made it answered, and `--reset` empties only a directory a
 * platform made and no platform is using.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIGatewayClient, CreateApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalApiGateway, type ApiGatewaySnapshot } from '../aws/api-gateway.js';
import { createLocalCognito, type CognitoSnapshot } from '../aws/cognito-idp.js';
import { fakeAuthenticate, fakeRoleSession } from '../aws/test-credentials.js';
import type { RequestListener } from '../aws/types.js';
import { claimDataDir, DATA_DIR_MARKER, DataDirInUseError, NotADataDirError, resetDataDir, snapshotWriter, writeFileAtomic } from './persistence.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cellbook-persist-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = (path: string) => statSync(path).mode & 0o777;
/** A process that is alive and is not this one: what another running platform looks like. */
const anotherLiveProcess = process.ppid;

describe('secrets on disk are readable by their owner only', () => {
  it('writes a file 0600 in a new directory 0700, and replaces a world-readable one with a 0600 one', async () => {
    const path = join(root, 'dot-cellbook', 'aws-config');
    await writeFileAtomic(path, 'first');
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(root, 'dot-cellbook'))).toBe(0o700);

    writeFileSync(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, 'second');
    expect(modeOf(path)).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('second');
  });

  it('makes the data directory 0700 and tightens snapshots an older version left 0644', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    writeFileSync(join(dataDir, 'cognito-pool.json'), '{}', { mode: 0o644 });
    writeFileSync(join(dataDir, 'iam.json'), '{}', { mode: 0o644 });
    const release = claimDataDir(dataDir);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(join(dataDir, 'cognito-pool.json'))).toBe(0o600);
    expect(modeOf(join(dataDir, 'iam.json'))).toBe(0o600);
    await release();
  });
});

describe('a snapshot is written through', () => {
  it('is on disk when changed() settles, without waiting for anything else', async () => {
    const path = join(root, 'state.json');
    const state = { users: [] as string[] };
    const writer = snapshotWriter(path, () => state, { debounceMs: 60_000 });
    state.users.push('ada');
    await writer.changed();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ users: ['ada'] });
  });

  it('coalesces a burst: one write in flight and one more with the latest state, each change on disk when its promise settles', async () => {
    const path = join(root, 'state.json');
    let writes = 0;
    const state = { n: 0 };
    const writer = snapshotWriter(path, () => {
      writes++;
      return { ...state };
    });
    const settled = [];
    for (let n = 1; n <= 20; n++) {
      state.n = n;
      const seen = n;
      settled.push(writer.changed().then(() => (JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n >= seen));
    }
    expect(await Promise.all(settled)).toEqual(Array(20).fill(true));
    expect(writes).toBe(2);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ n: 20 });
  });
});

/** An HTTP server on a free port for `listener`; closed after the test. */
const serve = async (listener: RequestListener): Promise<{ url: string; server: Server }> => {
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};
const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('a call that changed a stand-in answers once the change is on disk (a crash right after keeps it)', () => {
  it('Cognito: the refresh token of a sign-in is in the snapshot when the sign-in returns', async () => {
    const path = join(root, 'cognito.json');
    let pool: Awaited<ReturnType<typeof createLocalCognito>> | undefined;
    const writer = snapshotWriter(path, () => pool!.snapshot(), { debounceMs: 60_000 });
    let listener: RequestListener = (_req, res) => res.writeHead(503).end();
    const { url, server } = await serve((req, res) => listener(req, res));
    try {
      pool = await createLocalCognito({
        userPoolId: 'us-east-1_Persist',
        clientId: 'persistclient',
        issuerBaseUrl: url,
        authenticate: fakeAuthenticate(() => undefined),
        authorize: async () => ({ allowed: false, reason: 'no admin calls here' }),
        groups: ['admin'],
        onChange: () => writer.changed(),
      });
      listener = pool.listener;
      await pool.createUser({ username: 'ada', password: 'Chosen-Pass1', attributes: { email: 'ada@example.com' } });
      const client = new CognitoIdentityProviderClient({ endpoint: url, region: 'us-east-1', maxAttempts: 1 });
      const signedIn = await client.send(
        new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'persistclient', AuthParameters: { USERNAME: 'ada', PASSWORD: 'Chosen-Pass1' } }),
      );
      // Read at once: no timer, no flush.
      const onDisk = JSON.stringify(JSON.parse(readFileSync(path, 'utf8')) as CognitoSnapshot);
      expect(onDisk).toContain('ada');
      expect(onDisk).toContain(signedIn.AuthenticationResult!.RefreshToken!);
    } finally {
      await closeServer(server);
    }
  });

  it('API Gateway: a created API key is in the snapshot when CreateApiKey returns', async () => {
    const path = join(root, 'api-gateway.json');
    const session = fakeRoleSession('AKIACONTROLPLANE', 'control-plane');
    const writer = snapshotWriter(path, () => gateway.snapshot(), { debounceMs: 60_000 });
    const gateway = createLocalApiGateway({
      authenticate: fakeAuthenticate((id) => (id === session.accessKeyId ? session : undefined), 403),
      authorize: async () => ({ allowed: true, reason: 'test' }),
      onChange: () => writer.changed(),
      onCount: () => writer.changedSoon(),
    });
    const { url, server } = await serve(gateway.listener);
    try {
      const client = new APIGatewayClient({
        endpoint: url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: session.accessKeyId, secretAccessKey: 'secret' },
      });
      const key = await client.send(new CreateApiKeyCommand({ name: 'acme', enabled: true }));
      const onDisk = JSON.parse(readFileSync(path, 'utf8')) as ApiGatewaySnapshot;
      expect(onDisk.apiKeys.map(({ id, value }) => ({ id, value }))).toEqual([{ id: key.id, value: key.value }]);
    } finally {
      await closeServer(server);
    }
  });
});

describe('npm start -- --reset', () => {
  it('empties a data directory a platform made, keeping its mark', async () => {
    const dataDir = join(root, 'data');
    await claimDataDir(dataDir)();
    mkdirSync(join(dataDir, 'dynamodb'));
    writeFileSync(join(dataDir, 'dynamodb', 'LOG'), 'tables');
    writeFileSync(join(dataDir, 'iam.json'), '{}');
    const release = await resetDataDir(dataDir);
    expect(readdirSync(dataDir).sort()).toEqual([DATA_DIR_MARKER, 'platform.pid'].sort());
    await release();
  });

  it('starts on a directory that does not exist yet, or an empty one', async () => {
    await (await resetDataDir(join(root, 'new')))();
    mkdirSync(join(root, 'empty'));
    await (await resetDataDir(join(root, 'empty')))();
    expect(existsSync(join(root, 'empty', DATA_DIR_MARKER))).toBe(true);
  });

  it('refuses, deleting nothing, while another platform uses the directory', async () => {
    const dataDir = join(root, 'data');
    await claimDataDir(dataDir)();
    writeFileSync(join(dataDir, 'iam.json'), '{"adminSession":"kept"}');
    writeFileSync(join(dataDir, 'platform.pid'), String(anotherLiveProcess));
    const refusal = await resetDataDir(dataDir).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirInUseError);
    // How to recover when the pid is not a platform's (reused after a reboot):
    expect((refusal as Error).message).toContain(`delete ${join(dataDir, 'platform.pid')}`);
    expect(readFileSync(join(dataDir, 'iam.json'), 'utf8')).toBe('{"adminSession":"kept"}');
  });

  it('refuses, deleting nothing, a directory that is not empty and not marked as a data directory ($HOME, a project)', async () => {
    const home = join(root, 'home');
    mkdirSync(join(home, 'projects'), { recursive: true });
    writeFileSync(join(home, '.bashrc'), 'export PATH');
    await expect(resetDataDir(home)).rejects.toBeInstanceOf(NotADataDirError);
    expect(readdirSync(home).sort()).toEqual(['.bashrc', 'projects']);
  });

  it('still refuses such a directory after a platform ran on it by mistake (CELLBOOK_DATA_DIR=$HOME npm start)', async () => {
    const home = join(root, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.bashrc'), 'export PATH');
    await claimDataDir(home)();
    await expect(resetDataDir(home)).rejects.toBeInstanceOf(NotADataDirError);
    expect(readFileSync(join(home, '.bashrc'), 'utf8')).toBe('export PATH');
  });

  it('empties a data directory an earlier version made, without a mark, once a platform has run on it', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
    writeFileSync(join(dataDir, 'cognito-us-east-1_CellbookLocal.json'), '{}');
    await claimDataDir(dataDir)();
    const release = await resetDataDir(dataDir);
    expect(readdirSync(dataDir).sort()).toEqual([DATA_DIR_MARKER, 'platform.pid'].sort());
    await release();
  });
});
