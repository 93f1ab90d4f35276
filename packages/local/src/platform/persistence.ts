/**
 * A stand-in's state on disk (`PlatformOptions.dataDir`): one JSON file per stand-in, read once at
 * start and written whole — to a temporary file, then renamed over the old one, so a crash leaves
 * either the previous snapshot or the new one, never half of one — as soon as it changes (the call
 * that changed it answers once it is on disk, so a crash never keeps a tenant row whose admin user
 * or API key was lost) and once more on stop.
 *
 * The directory and everything written here are the owner's alone (0700 / 0600): the snapshots hold
 * password hashes, refresh tokens, RSA signing keys and the administrator's credentials.
 *
 * Only small stores go through here (users, keys, plans, dead letters); the tables live in
 * dynalite's LevelDB and the evidence objects one file each (aws/s3-disk-storage.ts).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Files readable by their owner only: they hold secrets. */
export const PRIVATE_FILE_MODE = 0o600;
/** Directories only their owner can enter. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes `data` to `path` atomically: a temporary file beside it, then a rename. The file is the
 * owner's alone (0600, whatever an older version of it had: the rename replaces it); directories
 * it creates too (0700).
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  // `mode` applies at creation, under the umask; 0600 has nothing a umask would take away.
  await writeFile(temporary, data, { mode: PRIVATE_FILE_MODE });
  await rename(temporary, path);
}

/** The snapshot at `path`, or `undefined` when there is none yet (a fresh data directory). */
export function readSnapshot<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    // A file written atomically cannot be torn; one that does not parse was edited by hand.
    throw new Error(`${path} is not a snapshot this platform wrote (${(error as Error).message}); fix it or start with --reset`);
  }
}

export interface SnapshotWriter {
  /**
   * Something changed: a write starts at once (or, while one is in flight, right after it) and the
   * promise settles when a write that began after this call is on disk, so it holds this change.
   * It rejects when that write failed (reported to `onError` too, and retried on the next change);
   * ignoring the promise is safe.
   */
  changed(): Promise<void>;
  /** A change not worth a write of its own (a usage count): written within `debounceMs`, or with the next change. */
  changedSoon(): void;
  /** Writes now if anything changed since the last write, and waits for it (on stop). Never rejects. */
  flush(): Promise<void>;
}

/**
 * Keeps `path` up to date with `snapshot()`, write-through: one write at a time, and while one is in
 * flight at most one more follows, carrying the latest state for every change made meanwhile (a
 * burst of changes is two writes, not one per change).
 */
export function snapshotWriter<T>(path: string, snapshot: () => T, options: { debounceMs?: number; onError?: (error: unknown) => void } = {}): SnapshotWriter {
  const debounceMs = options.debounceMs ?? 200;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  /** The write on its way to disk, if any. */
  let inFlight: Promise<void> | undefined;
  /** The one write queued behind it, if any: every change made meanwhile waits for this one. */
  let queued: Promise<void> | undefined;

  /** A write starting now; the promise carries its failure, already marked handled. */
  const start = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    dirty = false;
    const write = (async () => {
      try {
        // Serialized at the moment of writing: the latest state, whatever changed meanwhile.
        await writeFileAtomic(path, JSON.stringify(snapshot()));
      } catch (error) {
        dirty = true;
        options.onError?.(error);
        throw error;
      }
    })();
    inFlight = write;
    const done = () => {
      if (inFlight === write) inFlight = undefined;
    };
    write.then(done, done);
    return write;
  };

  const changed = (): Promise<void> => {
    dirty = true;
    if (queued) return queued;
    if (!inFlight) return start();
    // The write in flight serialized its state already: this change needs the next one.
    const next = inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return start();
      });
    queued = next;
    next.catch(() => undefined);
    return next;
  };

  return {
    changed,
    changedSoon() {
      dirty = true;
      if (timer || queued) return;
      timer = setTimeout(() => void changed(), debounceMs);
      // A pending write never keeps the process alive: stop flushes it.
      timer.unref();
    },
    async flush() {
      await (queued ?? inFlight)?.catch(() => undefined);
      if (dirty) await changed().catch(() => undefined);
    },
  };
}

/** Another running platform holds the data directory (two would corrupt each other's LevelDB and snapshots). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the data directory ${dataDir} is in use by another platform (process ${pid}); ` +
        `if no Cellbook runs (the process id was reused, after a reboot say), delete ${join(dataDir, OWNER_FILE)}`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** `--reset` was pointed at a directory this platform did not make: it deletes nothing there. */
export class NotADataDirError extends Error {
  constructor(readonly dataDir: string) {
    super(`${dataDir} is not a Cellbook data directory (it is not empty and has no ${DATA_DIR_MARKER} file), so --reset deletes nothing there`);
    this.name = 'NotADataDirError';
  }
}

const OWNER_FILE = 'platform.pid';
/**
 * Written into a data directory at its first use: `--reset` empties only a directory that has it (or
 * an empty one), never one a mistyped CELLBOOK_DATA_DIR names ($HOME, a project).
 */
export const DATA_DIR_MARKER = '.cellbook-data';
/** What a platform writes into its data directory (aws-services.ts DATA_LAYOUT, the claim, the marker). */
const PLATFORM_ENTRY = /^(dynamodb|dynamodb-local|s3|platform\.pid|\.cellbook-data|[\w.-]+\.json|[\w.-]+\.tmp)$/;
const MARKER_TEXT = 'A Cellbook local platform keeps its data here (npm start). `npm start -- --reset` empties this directory.\n';

/**
 * Claims `dataDir` for this process: `platform.pid` names the owner while it runs. A file left by a
 * process that is gone (killed, crashed) is taken over; one of a live process refuses the start.
 * Marks the directory as a data directory, and makes it and its snapshots the owner's alone (those
 * an older version left readable too). Returns the release, which the platform calls on stop.
 */
export function claimDataDir(dataDir: string): () => Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // Marked only at first use (or when it holds nothing but what a platform writes, as one an
  // earlier version made does): `CELLBOOK_DATA_DIR=$HOME npm start` by mistake must not make $HOME
  // a directory the next `--reset` empties.
  const ours = readdirSync(dataDir).every((entry) => PLATFORM_ENTRY.test(entry));
  const path = join(dataDir, OWNER_FILE);
  // Two starts may both find the same stale file and both remove it; the exclusive create lets one
  // win. A second stale owner in a row is not a race but a mistake: it is reported, not looped on.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: PRIVATE_FILE_MODE });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1) throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw new DataDirInUseError(dataDir, owner);
      rmSync(path, { force: true });
    }
  }
  const marker = join(dataDir, DATA_DIR_MARKER);
  if (ours && !existsSync(marker)) writeFileSync(marker, MARKER_TEXT, { mode: PRIVATE_FILE_MODE });
  chmodSync(dataDir, PRIVATE_DIR_MODE);
  for (const file of readdirSync(dataDir)) {
    // A snapshot write a crash interrupted leaves its temporary file; the snapshot itself is whole.
    if (file.endsWith('.tmp')) rmSync(join(dataDir, file), { force: true });
    else if (file.endsWith('.json')) chmodSync(join(dataDir, file), PRIVATE_FILE_MODE);
  }
  return async () => rm(path, { force: true });
}

/**
 * `npm start -- --reset`: claims `dataDir` (refusing, with nothing deleted, while another platform
 * holds it), then empties it. A directory that is neither empty nor marked as a data directory is
 * refused before anything is touched. Returns the claim's release; the platform started afterwards
 * on the same directory takes the claim over (it is this process's).
 */
export async function resetDataDir(dataDir: string): Promise<() => Promise<void>> {
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new NotADataDirError(dataDir);
    const entries = readdirSync(dataDir);
    if (entries.length > 0 && !entries.includes(DATA_DIR_MARKER)) throw new NotADataDirError(dataDir);
  }
  const release = claimDataDir(dataDir);
  const keep = new Set([OWNER_FILE, DATA_DIR_MARKER]);
  for (const entry of readdirSync(dataDir)) if (!keep.has(entry)) await rm(join(dataDir, entry), { recursive: true, force: true });
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
