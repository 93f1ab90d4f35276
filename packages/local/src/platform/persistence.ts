/**
 * A stand-in's state on disk (`PlatformOptions.dataDir`): one JSON file per stand-in, read once at
 * start and written whole — to a temporary file, then renamed over the old one, so a crash leaves
 * either the previous snapshot or the new one, never half of one — a moment after it changes
 * (debounced: a burst of changes is one write, off the request path) and once more on stop.
 *
 * Only small stores go through here (users, keys, plans, dead letters); the tables live in
 * dynalite's LevelDB and the evidence objects one file each (aws/s3-disk-storage.ts).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes `data` to `path` atomically: a temporary file beside it, then a rename. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, data);
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
  /** Something changed: the snapshot is written within `debounceMs`. */
  changed(): void;
  /** Writes now if anything changed since the last write, and waits for it (on stop). */
  flush(): Promise<void>;
}

/**
 * Keeps `path` up to date with `snapshot()`: one write at a time, the latest state last. A write
 * that fails is reported to `onError` and retried on the next change or flush.
 */
export function snapshotWriter<T>(path: string, snapshot: () => T, options: { debounceMs?: number; onError?: (error: unknown) => void } = {}): SnapshotWriter {
  const debounceMs = options.debounceMs ?? 200;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const write = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    writing = writing.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        // Serialized at the moment of writing: the latest state, whatever changed meanwhile.
        await writeFileAtomic(path, JSON.stringify(snapshot()));
      } catch (error) {
        dirty = true;
        options.onError?.(error);
      }
    });
    return writing;
  };

  return {
    changed() {
      dirty = true;
      if (timer) return;
      timer = setTimeout(() => void write(), debounceMs);
      // A pending write never keeps the process alive: stop flushes it.
      timer.unref();
    },
    flush: write,
  };
}

/** Another running platform holds the data directory (two would corrupt each other's LevelDB and snapshots). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data directory ${dataDir} is in use by another platform (process ${pid})`);
    this.name = 'DataDirInUseError';
  }
}

const OWNER_FILE = 'platform.pid';

/**
 * Claims `dataDir` for this process: `platform.pid` names the owner while it runs. A file left by a
 * process that is gone (killed, crashed) is taken over; one of a live process refuses the start.
 * Returns the release, which the platform calls on stop.
 */
export function claimDataDir(dataDir: string): () => Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, OWNER_FILE);
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw new DataDirInUseError(dataDir, owner);
      rmSync(path, { force: true });
    }
  }
  // A snapshot write a crash interrupted leaves its temporary file; the snapshot itself is whole.
  for (const file of readdirSync(dataDir)) if (file.endsWith('.tmp')) rmSync(join(dataDir, file), { force: true });
  return async () => rm(path, { force: true });
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
