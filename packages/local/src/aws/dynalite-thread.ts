/**
 * The storage engine's thread (`startLocalDynamo` in dynamodb-endpoint.ts starts it): dynalite,
 * made to refuse what DynamoDB refuses, listening on an ephemeral 127.0.0.1 port. It tells the
 * platform its port, and closes when told to. Bundled to plain JavaScript before it runs, so it
 * imports only Node's built-ins; dynalite itself is required from the platform's package.
 */
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

interface ThreadData {
  /** A module URL of the platform's package, from which `dynalite` resolves. */
  requireFrom: string;
  /** Where a persisted store lives; in memory when absent. */
  dataDir?: string;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

/** The parts of dynalite's item layer (`dynalite/db`, CommonJS) that its actions call through the module object. */
interface DynaliteDb {
  validateItem(item: unknown, table: unknown): unknown;
  updateIndexes(store: unknown, table: unknown, oldItem: unknown, newItem: unknown, callback: (error?: unknown) => void): void;
  traverseIndexes(table: unknown, visit: (attribute: string, type: string, index: { IndexName: string }) => unknown): unknown;
  validationError(message: string): unknown;
}

/**
 * Makes dynalite refuse what DynamoDB refuses and it lets through, with DynamoDB's own errors, so
 * that dynalite and DynamoDB Local (CELLBOOK_DYNAMODB=dynamodb-local) agree:
 * - an empty string or binary as a secondary index key (GSI1PK, GSI1SK) in a put or a batch put,
 *   and an update that sets one to empty: ValidationException (DynamoDB allows empty values only
 *   outside table and index keys).
 * dynalite's actions call these functions through its `db` module object, so wrapping them there
 * applies to every table of the dynalite in this thread.
 */
function alignDynaliteWithDynamoDb(require: NodeJS.Require): void {
  const db = require('dynalite/db') as DynaliteDb;
  for (const name of ['validateItem', 'updateIndexes', 'traverseIndexes', 'validationError'] as const) {
    if (typeof db[name] !== 'function') throw new Error(`dynalite/db no longer has ${name}(): review alignDynaliteWithDynamoDb for this dynalite version`);
  }
  const emptyIndexKey = (item: unknown, table: unknown): { index: string; attribute: string; kind: string } | undefined => {
    if (typeof item !== 'object' || item === null) return undefined;
    let found: { index: string; attribute: string; kind: string } | undefined;
    db.traverseIndexes(table, (attribute, type, index) => {
      const value = Object.hasOwn(item, attribute) ? (item as Record<string, Record<string, unknown> | undefined>)[attribute]?.[type] : undefined;
      if ((type === 'S' || type === 'B') && value === '') {
        found = { index: index.IndexName, attribute, kind: type === 'S' ? 'string' : 'binary' };
        return true;
      }
      return undefined;
    });
    return found;
  };
  const { validateItem, updateIndexes } = db;
  db.validateItem = (item, table) => {
    const invalid = validateItem(item, table);
    if (invalid != null) return invalid;
    const empty = emptyIndexKey(item, table);
    return empty
      ? db.validationError(
          'One or more parameter values are not valid. A value specified for a secondary index key is not supported. ' +
            `The AttributeValue for a key attribute cannot contain an empty ${empty.kind} value. IndexName: ${empty.index}, IndexKey: ${empty.attribute}`,
        )
      : undefined;
  };
  // Puts were checked above; what reaches the indexes with an empty key comes from an update.
  db.updateIndexes = (store, table, oldItem, newItem, callback) => {
    const empty = emptyIndexKey(newItem, table);
    if (empty) {
      callback(
        db.validationError(
          'One or more parameter values are not valid. The update expression attempted to update a secondary index key to a value that is not supported. ' +
            `The AttributeValue for a key attribute cannot contain an empty ${empty.kind} value.`,
        ),
      );
      return;
    }
    updateIndexes(store, table, oldItem, newItem, callback);
  };
}

/** A dynalite action (`dynalite/actions/<name>`, CommonJS): `(store, request, callback)`. */
type DynaliteAction = (store: DynaliteStore, data: { TableName: string }, callback: (error: unknown, result?: unknown) => void) => void;

interface DynaliteStore {
  tableDb: { get(name: string, callback: (error: unknown, table?: { TableStatus?: string }) => void): void };
}

/** How long an answer waits at most for its table to settle (it settles within a millisecond or two). */
const SETTLE_LIMIT_MS = 5_000;

/**
 * dynalite answers CreateTable, UpdateTable and DeleteTable at once and settles the table's state
 * on a timer (0 ms here), so a request right behind the answer could still find the table CREATING
 * or DELETING — and dynalite refuses an item request on a CREATING table as not found. DynamoDB
 * answers as early, but its callers wait for ACTIVE; the tests and `npm start` do not poll, so here
 * the answer is held until the table has settled. Patched in the module cache before `dynalite`
 * loads, because its index picks its actions up once, when it loads.
 */
function settleTableChangesBeforeAnswering(require: NodeJS.Require): void {
  const settled: Record<string, (table: { TableStatus?: string } | undefined) => boolean> = {
    createTable: (table) => table?.TableStatus === 'ACTIVE',
    updateTable: (table) => table?.TableStatus === 'ACTIVE',
    deleteTable: (table) => table === undefined,
  };
  for (const [action, isSettled] of Object.entries(settled)) {
    const path = require.resolve(`dynalite/actions/${action}`);
    const original = require(path) as DynaliteAction;
    const cached = require.cache[path];
    if (typeof original !== 'function' || !cached) throw new Error(`dynalite/actions/${action} is not the action it was: review settleTableChangesBeforeAnswering`);
    const answerWhenSettled: DynaliteAction = (store, request, callback) =>
      original(store, request, (error, result) => {
        if (error) return callback(error);
        const giveUpAt = Date.now() + SETTLE_LIMIT_MS;
        const check = (): void =>
          store.tableDb.get(request.TableName, (getError, table) => {
            if (isSettled(getError ? undefined : table) || Date.now() > giveUpAt) callback(null, result);
            else setTimeout(check, 1);
          });
        check();
      });
    cached.exports = answerWhenSettled;
  }
}

async function serve(port: NonNullable<typeof parentPort>, data: ThreadData): Promise<void> {
  const require = createRequire(data.requireFrom);
  settleTableChangesBeforeAnswering(require);
  // dynalite is CommonJS without type declarations; this is its documented factory signature.
  const dynalite = require('dynalite') as (options: DynaliteOptions) => Server & { keepAliveTimeout: number; closeIdleConnections(): void };
  alignDynaliteWithDynamoDb(require);
  const server = dynalite({
    ...(data.dataDir === undefined ? {} : { path: data.dataDir }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // Longer than the endpoint's idle connections live, so the engine is not the side that closes one.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port.once('message', () => {
    server.close((error) => {
      port.postMessage(error ? { type: 'failed', message: error.message } : { type: 'closed' });
      port.close();
    });
    // Keep-alive sockets from callers would otherwise hold the close open.
    server.closeIdleConnections();
  });
  port.postMessage({ type: 'listening', port: (server.address() as AddressInfo).port });
}

if (parentPort === null) throw new Error('dynalite-thread runs as a worker thread (see startLocalDynamo)');
const platform = parentPort;
serve(platform, workerData as ThreadData).catch((error: unknown) => {
  platform.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  platform.close();
});
