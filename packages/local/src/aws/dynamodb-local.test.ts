import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { killRegisteredDynamoDbLocals, REGISTRY_ENV } from './dynamodb-local.js';

const FIXTURE = fileURLToPath(new URL('./dynamodb-local.fixture.ts', import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Waits for a process to be gone (an observable state, bounded, not a guess at how long it takes). */
async function gone(pid: number, withinMs = 30_000): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

// Needs Java: runs when the run opts in to DynamoDB Local.
describe.runIf(process.env.CELLBOOK_DYNAMODB === 'dynamodb-local')('DynamoDB Local never outlives the process that started it', () => {
  const registries: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(() => {
    // Whatever a failed test left: the fixtures, then the JVMs they registered.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const registry of registries) {
      killRegisteredDynamoDbLocals(registry);
      rmSync(registry, { recursive: true, force: true });
    }
  });

  /** Starts the fixture; resolves once its DynamoDB Local listens, with both pids. */
  async function suiteWithDynamoDbLocal(mode: 'crash' | 'wait') {
    const registry = mkdtempSync(join(tmpdir(), 'cellbook-jvm-test-'));
    registries.push(registry);
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { env: { ...process.env, [REGISTRY_ENV]: registry }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('READY ')) resolve(line.slice('READY '.length));
      });
      child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before DynamoDB Local was ready`)));
    });
    const [pidFile] = readdirSync(registry);
    const jvm = (JSON.parse(readFileSync(join(registry, pidFile!), 'utf8')) as { pid: number }).pid;
    return { child, jvm, url, registry };
  }

  it('listens on 127.0.0.1 only, and stops with a suite that crashes', async () => {
    const { child, jvm, url } = await suiteWithDynamoDbLocal('crash');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(jvm)).toBe(true);
    // Not reachable on this machine's other addresses (where there is one).
    const outward = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && !address.internal && address.family === 'IPv4');
    if (outward) {
      const port = Number(new URL(url).port);
      const reached = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: outward.address, port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      expect(reached, `DynamoDB Local answered on ${outward.address}:${port}`).toBe(false);
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await gone(jvm)).toBe(true);
  });

  it('stops with a suite that is terminated (SIGTERM) or killed outright (SIGKILL)', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const { child, jvm } = await suiteWithDynamoDbLocal('wait');
      expect(alive(jvm)).toBe(true);
      child.kill(signal);
      expect(await gone(jvm), `JVM after ${signal}`).toBe(true);
    }
  });

  it('is stopped by the global teardown when it is still registered', async () => {
    const { child, jvm, registry } = await suiteWithDynamoDbLocal('wait');
    // As if the suite's process hung: the teardown kills what the registry still names.
    expect(killRegisteredDynamoDbLocals(registry)).toBe(1);
    expect(await gone(jvm)).toBe(true);
    child.kill('SIGKILL');
  });
});
