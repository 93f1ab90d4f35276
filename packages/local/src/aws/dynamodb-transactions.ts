/**
 * TransactWriteItems for a storage engine that has none (dynalite): all or nothing, with every
 * failed condition reported in `CancellationReasons`, as DynamoDB answers it. DynamoDB Local runs
 * transactions itself and never comes here.
 *
 * How: under an exclusive lock on the engine's writes (every other write holds it shared, so none
 * interleaves), each operation runs as the single-item call it is — Put, Update or Delete with its
 * condition, a ConditionCheck as a conditional rewrite of the item's current image — returning the
 * item's old image; if any is refused, the ones applied are undone from those images.
 * The items of one transaction are distinct (as DynamoDB requires), so each condition is evaluated
 * against the item as it was before the transaction, as in DynamoDB. Reads are not held: a read
 * racing a transaction may see part of it (DynamoDB's reads would not).
 */
import {
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;
type Names = Record<string, string> | undefined;
type Values = Item | undefined;

interface Conditional {
  TableName: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Values;
}
type TransactItem =
  | { Put: Conditional & { Item: Item } }
  | { Update: Conditional & { Key: Item; UpdateExpression: string } }
  | { Delete: Conditional & { Key: Item } }
  | { ConditionCheck: Conditional & { Key: Item; ConditionExpression: string } };

/** What the endpoint sends back: DynamoDB's status and JSON document. */
export interface EmulatedAnswer {
  status: number;
  document: Record<string, unknown>;
}

/** Many writers at once, or one transaction alone. */
export class WriteLock {
  private shared = 0;
  private exclusive: Promise<void> | undefined;
  private readonly drained: (() => void)[] = [];

  async withShared<T>(run: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    this.shared += 1;
    try {
      return await run();
    } finally {
      this.shared -= 1;
      if (this.shared === 0) for (const wake of this.drained.splice(0)) wake();
    }
  }

  async withExclusive<T>(run: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      if (this.shared > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      return await run();
    } finally {
      this.exclusive = undefined;
      release();
    }
  }
}

const MAX_ITEMS = 100;

export function createTransactionEmulator(engine: DynamoDBClient, lock: WriteLock) {
  const keyNames = new Map<string, Promise<string[]>>();
  const keyNamesOf = (table: string): Promise<string[]> => {
    let names = keyNames.get(table);
    if (!names) {
      names = engine.send(new DescribeTableCommand({ TableName: table })).then(({ Table }) => (Table?.KeySchema ?? []).map((k) => k.AttributeName ?? ''));
      names.catch(() => keyNames.delete(table));
      keyNames.set(table, names);
    }
    return names;
  };

  return async function transactWriteItems(body: Readonly<Record<string, unknown>>): Promise<EmulatedAnswer> {
    const items = body.TransactItems;
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) {
      return validation(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ITEMS} and greater than or equal to 1`,
      );
    }
    const operations: { kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck'; op: Conditional & { Key?: Item; Item?: Item; UpdateExpression?: string } }[] = [];
    for (const entry of items as TransactItem[]) {
      const kinds = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).filter((kind) => entry !== null && typeof entry === 'object' && kind in entry);
      if (kinds.length !== 1) return validation('TransactItems can only contain one of Check, Put, Update or Delete');
      const kind = kinds[0]!;
      operations.push({ kind, op: (entry as Record<string, Conditional>)[kind]! });
    }
    let keys: Item[];
    try {
      keys = await Promise.all(operations.map(async ({ op }) => keyOf(op, await keyNamesOf(op.TableName))));
    } catch (error) {
      return fromEngine(error);
    }
    const identities = keys.map((key, i) => `${operations[i]!.op.TableName}\u0000${JSON.stringify(Object.entries(key).sort(([a], [b]) => a.localeCompare(b)))}`);
    if (new Set(identities).size !== identities.length) return validation('Transaction request cannot include multiple operations on one item');

    return lock.withExclusive(async () => {
      const undo: (() => Promise<unknown>)[] = [];
      let failure: unknown;
      // The items are distinct: their operations run side by side, each against its own item.
      const reasons = await Promise.all(
        operations.map(async ({ kind, op }, i): Promise<{ Code: string; Message?: string }> => {
          const key = keys[i]!;
          const conditional = {
            TableName: op.TableName,
            ConditionExpression: op.ConditionExpression,
            ExpressionAttributeNames: op.ExpressionAttributeNames,
            ExpressionAttributeValues: op.ExpressionAttributeValues,
          };
          try {
            let before: Item | undefined;
            if (kind === 'Put') {
              ({ Attributes: before } = await engine.send(new PutItemCommand({ ...conditional, Item: op.Item, ReturnValues: 'ALL_OLD' })));
            } else if (kind === 'Update') {
              ({ Attributes: before } = await engine.send(
                new UpdateItemCommand({ ...conditional, Key: key, UpdateExpression: op.UpdateExpression, ReturnValues: 'ALL_OLD' }),
              ));
            } else if (kind === 'Delete') {
              ({ Attributes: before } = await engine.send(new DeleteItemCommand({ ...conditional, Key: key, ReturnValues: 'ALL_OLD' })));
            } else {
              const { Item: current } = await engine.send(new GetItemCommand({ TableName: op.TableName, Key: key, ConsistentRead: true }));
              await engine.send(new PutItemCommand({ ...conditional, Item: current ?? key }));
              // A check leaves the item as it found it: absent stays absent.
              if (!current) await engine.send(new DeleteItemCommand({ TableName: op.TableName, Key: key }));
              return { Code: 'None' };
            }
            const table = op.TableName;
            undo.push(() =>
              before ? engine.send(new PutItemCommand({ TableName: table, Item: before })) : engine.send(new DeleteItemCommand({ TableName: table, Key: key })),
            );
            return { Code: 'None' };
          } catch (error) {
            if (error instanceof Error && error.name === 'ConditionalCheckFailedException')
              return { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
            // An item the table refuses (too large, a bad update): DynamoDB cancels with this item's reason.
            if (error instanceof Error && error.name === 'ValidationException') return { Code: 'ValidationError', Message: error.message };
            failure ??= error;
            return { Code: error instanceof Error ? error.name.replace(/Exception$/, '') : 'InternalError', Message: error instanceof Error ? error.message : String(error) };
          }
        }),
      );
      const cancelled = reasons.some((reason) => reason.Code !== 'None');
      if (!cancelled) return { status: 200, document: {} };
      await Promise.all(undo.map((step) => step()));
      if (failure) return fromEngine(failure);
      return {
        status: 400,
        document: {
          __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
          Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
          CancellationReasons: reasons,
        },
      };
    });
  };
}

/** The item's primary key: named in `Key`, or taken from a Put's `Item`. */
function keyOf(op: Conditional & { Key?: Item; Item?: Item }, names: string[]): Item {
  if (op.Key) return op.Key;
  const key: Item = {};
  for (const name of names) {
    const value = op.Item?.[name];
    if (value === undefined) throw Object.assign(new Error(`One of the required keys was not given a value`), { name: 'ValidationException' });
    key[name] = value;
  }
  return key;
}

function validation(message: string): EmulatedAnswer {
  return { status: 400, document: { __type: 'com.amazon.coral.validate#ValidationException', message } };
}

function fromEngine(error: unknown): EmulatedAnswer {
  const name = error instanceof Error ? error.name : 'InternalServerError';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'ValidationException') return validation(message);
  if (name === 'ResourceNotFoundException') return { status: 400, document: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message } };
  return { status: 500, document: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' } };
}
