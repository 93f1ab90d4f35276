/**
 * The IAM-enforcing DynamoDB endpoint: authenticates each call, authorizes it the way DynamoDB's
 * front end would (action, table/index ARN, `dynamodb:LeadingKeys`) and only then forwards the
 * untouched request to the storage engine (dynalite). Denials are DynamoDB's own error documents.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import * as esbuild from 'esbuild';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { ownRecord, parseJsonOwn } from '@cellbook/core/shared/own-record';
import { createTransactionEmulator, WriteLock } from './dynamodb-transactions.js';
import { planDynamoDbAccess, type TableKeys } from './dynamodb-access-checks.js';
import type { LocalIam } from './local-iam.js';
import { readSignedRequest } from './sigv4-verifier.js';
import { LOCAL_REGION, isAwsError, type RequestListener } from './types.js';

export interface DynamoDbEndpointOptions {
  iam: LocalIam;
  /** Base URL of the storage engine, e.g. the `url` from `startLocalDynamo`. */
  upstream: string;
  /**
   * Test control, never set by `npm start`: sees every call that passed authentication and IAM,
   * just before it reaches the storage engine, and may hold it there (the call waits for the
   * returned promise). Lets a drill pause one tenant's write "in flight" deterministically.
   */
  beforeStorage?: (call: DynamoDbCall) => void | Promise<void>;
  /**
   * The engine has no TransactWriteItems (dynalite): the endpoint runs transactions itself, all or
   * nothing (dynamodb-transactions.ts). DynamoDB Local has them and leaves this unset.
   */
  emulateTransactions?: boolean;
}

/** A DynamoDB call the endpoint has authorized, as `beforeStorage` sees it. */
export interface DynamoDbCall {
  /** e.g. `PutItem` */
  operation: string;
  /** The request document (parsed JSON, no prototype). */
  body: Readonly<Record<string, unknown>>;
  /** The caller's assumed-role ARN, e.g. `arn:aws:sts::000000000000:assumed-role/<role>/<session>`. */
  caller: string;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
/** DynamoDB's own request size ceiling (and dynalite's). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const HOP_BY_HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export function createDynamoDbEndpoint(options: DynamoDbEndpointOptions): RequestListener {
  const upstream = new URL(options.upstream);
  // Idle connections are dropped well before the engine's keep-alive timeout (65 s) would close
  // them, so a request is not sent on a connection the engine is closing at that moment.
  const agent = new Agent({ keepAlive: true, timeout: 30_000 });
  const tableKeys = createTableKeysCache(upstream);
  const writeLock = new WriteLock();
  const transactWriteItems = options.emulateTransactions ? createTransactionEmulator(engineClient(upstream, 1), writeLock) : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const signed = await readSignedRequest(req, 'dynamodb', MAX_BODY_BYTES);
    if (isAwsError(signed)) return sendJson(res, signed.status, { __type: `com.amazon.coral.service#${signed.code}`, message: signed.message });

    const caller = await options.iam.authenticate(signed);
    if (isAwsError(caller)) {
      return sendJson(res, caller.status, { __type: `com.amazon.coral.service#${caller.code}`, message: caller.message });
    }

    const target = headerText(req.headers['x-amz-target']);
    if (target === undefined || !target.startsWith(TARGET_PREFIX)) {
      return sendJson(res, 400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
    }
    const operation = target.slice(TARGET_PREFIX.length);
    let body: unknown;
    try {
      // Member names are the caller's (a table or transact member named `constructor`): no prototype.
      body = signed.body.length === 0 ? {} : parseJsonOwn(signed.body.toString('utf8'));
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      return sendJson(res, 400, { __type: 'com.amazon.coral.service#SerializationException' });
    }

    const protoAt = prototypeMemberPath(body);
    if (protoAt !== undefined) {
      return sendJson(res, 400, {
        __type: 'com.amazon.coral.validate#ValidationException',
        message: `The local DynamoDB stand-in cannot take a member named "__proto__" (at ${protoAt}): its storage engine would silently drop it. Use another attribute or member name.`,
      });
    }

    const plan = await planDynamoDbAccess(operation, body, tableKeys.get);
    if (plan.kind === 'reject') {
      const namespace = plan.type === 'ValidationException' ? 'com.amazon.coral.validate' : 'com.amazon.coral.service';
      return sendJson(res, 400, plan.message === undefined ? { __type: `${namespace}#${plan.type}` } : { __type: `${namespace}#${plan.type}`, message: plan.message });
    }
    // Sequential, in request order, so the reported resource is the first one DynamoDB would name.
    for (const check of plan.checks) {
      const decision = await options.iam.authorize(caller, check);
      if (!decision.allowed) {
        return sendJson(res, 400, {
          __type: 'com.amazon.coral.service#AccessDeniedException',
          Message: `User: ${caller.assumedRoleArn} is not authorized to perform: ${check.action} on resource: ${check.resource} ${decision.reason}`,
        });
      }
    }

    if (plan.changesKeysOf !== undefined) {
      const table = plan.changesKeysOf;
      tableKeys.forget(table);
      // Also once the change has landed: a lookup racing the call could have cached the old schema.
      res.once('finish', () => tableKeys.forget(table));
    }
    if (options.beforeStorage) {
      await options.beforeStorage({ operation, body: body as Record<string, unknown>, caller: caller.assumedRoleArn });
    }
    if (transactWriteItems && operation === 'TransactWriteItems') {
      const answer = await transactWriteItems(body as Record<string, unknown>);
      return sendJson(res, answer.status, answer.document);
    }
    if (transactWriteItems && WRITE_OPERATIONS.has(operation)) return writeLock.withShared(() => forward(req, signed.body, res, upstream, agent));
    await forward(req, signed.body, res, upstream, agent);
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('[local dynamodb] request failed', error);
      if (!res.headersSent) sendJson(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' });
      else res.destroy();
    });
  };
}

/** Partition-key names per table, read once with DescribeTable from the storage engine itself. */
/** A client of the storage engine itself, which checks no signature: any static credentials do. */
function engineClient(upstream: URL, maxAttempts?: number): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: upstream.origin,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

function createTableKeysCache(upstream: URL): { get: (table: string) => Promise<TableKeys | undefined>; forget: (table: string) => void } {
  const client = engineClient(upstream);
  const cache = new Map<string, Promise<TableKeys | undefined>>();

  const describe = async (table: string): Promise<TableKeys | undefined> => {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
      const hashKeyOf = (schema: { AttributeName?: string; KeyType?: string }[] | undefined): string | undefined =>
        schema?.find((element) => element.KeyType === 'HASH')?.AttributeName;
      const partitionKey = hashKeyOf(Table?.KeySchema);
      if (partitionKey === undefined) throw new Error(`DescribeTable ${table} returned no HASH key`);
      const indexPartitionKeys = ownRecord<string>();
      for (const index of [...(Table?.GlobalSecondaryIndexes ?? []), ...(Table?.LocalSecondaryIndexes ?? [])]) {
        const indexKey = hashKeyOf(index.KeySchema);
        if (index.IndexName !== undefined && indexKey !== undefined) indexPartitionKeys[index.IndexName] = indexKey;
      }
      return { partitionKey, indexPartitionKeys };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  };

  return {
    get: (table) => {
      let keys = cache.get(table);
      if (keys === undefined) {
        keys = describe(table);
        cache.set(table, keys);
        // Only an existing table's keys are worth keeping: a missing one may be created any moment.
        keys.then(
          (found) => {
            if (found === undefined && cache.get(table) === keys) cache.delete(table);
          },
          () => {
            if (cache.get(table) === keys) cache.delete(table);
          },
        );
      }
      return keys;
    },
    forget: (table) => {
      cache.delete(table);
    },
  };
}

async function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, upstream: URL, agent: Agent): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) headers[name] = value;
  }
  headers['content-length'] = String(body.length);

  // A kept-alive connection the storage engine has just closed fails before any answer: the
  // request never reached it, so it is sent once more on a fresh connection (the body is in hand).
  const send = (retry: boolean): Promise<IncomingMessage> =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = httpRequest(
        { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        resolve,
      );
      outgoing.once('error', (error: NodeJS.ErrnoException) => {
        if (retry && outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) send(false).then(resolve, reject);
        else reject(error);
      });
      outgoing.end(body);
    });
  const upstreamResponse = await send(true);
  res.writeHead(upstreamResponse.statusCode ?? 502, withoutHopByHop(upstreamResponse.headers));
  await pipeline(upstreamResponse, res);
}

/**
 * Where the request document has a member named `__proto__` (e.g. `Item.__proto__`,
 * `ExclusiveStartKey.__proto__`), or undefined. dynalite builds plain objects from the document and
 * drops such a member without a word (a Key with an extra `__proto__` is accepted, an Item attribute
 * so named vanishes), so the call is refused before it reaches storage. Walked without recursion: a
 * deeply nested document is no stack overflow.
 */
export function prototypeMemberPath(document: unknown): string | undefined {
  const pending: [unknown, string][] = [[document, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((member, index) => {
        pending.push([member, `${path}[${index}]`]);
      });
      continue;
    }
    for (const name of Object.keys(value)) {
      const at = path === '' ? name : `${path}.${name}`;
      if (name === '__proto__') return at;
      pending.push([(value as Record<string, unknown>)[name], at]);
    }
  }
  return undefined;
}

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) kept[name] = value;
  }
  return kept;
}

function sendJson(res: ServerResponse, status: number, document: Readonly<Record<string, unknown>>): void {
  const body = JSON.stringify(document);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId(),
    'x-amz-crc32': String(crc32(body)),
  });
  res.end(body);
}

/** DynamoDB request ids: 52 characters of upper-case base32-like text. */
function requestId(): string {
  return randomBytes(39).toString('base64').toUpperCase().replace(/[+/]/g, '0');
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface LocalDynamo {
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** What the storage engine's thread says: its port once listening, or why it could not start. */
type DynaliteThreadMessage = { type: 'listening'; port: number } | { type: 'closed' } | { type: 'failed'; message: string };

const DYNALITE_THREAD = fileURLToPath(new URL('./dynalite-thread.ts', import.meta.url));
let dynaliteThreadScript: Promise<string> | undefined;

/** The engine thread's entry, bundled once per process (a worker cannot load TypeScript itself). */
function dynaliteThreadEntry(): Promise<string> {
  dynaliteThreadScript ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cellbook-dynalite-'));
    const outfile = join(dir, 'dynalite-thread.mjs');
    // Only Node's built-ins are imported; dynalite is required at run time from this package.
    await esbuild.build({ entryPoints: [DYNALITE_THREAD], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return outfile;
  })();
  return dynaliteThreadScript;
}

/**
 * Starts dynalite on an ephemeral 127.0.0.1 port, in a thread of its own: in memory, or persisted
 * under `dataDir`. Table state changes are immediate so tests and `npm start` never poll for ACTIVE.
 *
 * Its own thread because the storage engine is on every tenant's request path: in the platform's
 * main thread, each item it reads or writes (and the garbage that leaves) would hold up the router,
 * the gateways and every other tenant's request behind it — as DynamoDB's storage nodes never sit
 * on API Gateway's. Here it works beside them, on another core when there is one.
 */
export async function startLocalDynamo(options: { dataDir?: string } = {}): Promise<LocalDynamo> {
  const worker = new Worker(await dynaliteThreadEntry(), {
    workerData: { requireFrom: import.meta.url, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) },
    // Not the platform's tsx loader or inspector flags: the entry is plain JavaScript.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  const next = (): Promise<DynaliteThreadMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: DynaliteThreadMessage) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(message);
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        reject(error);
      };
      const onExit = (code: number) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        reject(new Error(`the dynalite thread exited (${code}) before answering`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  const started = await next().catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  if (started.type !== 'listening') {
    await worker.terminate();
    throw new Error(`dynalite did not start: ${started.type === 'failed' ? started.message : started.type}`);
  }
  return {
    url: `http://127.0.0.1:${started.port}`,
    close: async () => {
      const closed = next();
      worker.postMessage('close');
      // A persisted store is flushed and closed by dynalite itself before the thread ends.
      const outcome = await closed.catch((error: unknown) => ({ type: 'failed' as const, message: String(error) }));
      await worker.terminate();
      if (outcome.type === 'failed') throw new Error(`dynalite did not close cleanly: ${outcome.message}`);
    },
  };
}
