/**
 * DynamoDB capacity as usage (DESIGN §10): one client middleware asks every command of a metered
 * request for `ReturnConsumedCapacity: 'TOTAL'` and adds what the answer says to the request's
 * accumulator — reads as read units, writes as write units — so no repository has to remember to.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { currentRequestUsage, type RequestUsage } from './meter.js';

/** The low-level operations that report consumed capacity, and which units a bare `CapacityUnits` is. */
const CAPACITY_KIND: Readonly<Record<string, 'read' | 'write'>> = {
  GetItemCommand: 'read',
  BatchGetItemCommand: 'read',
  QueryCommand: 'read',
  ScanCommand: 'read',
  TransactGetItemsCommand: 'read',
  PutItemCommand: 'write',
  UpdateItemCommand: 'write',
  DeleteItemCommand: 'write',
  BatchWriteItemCommand: 'write',
  TransactWriteItemsCommand: 'write',
};

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** What one answer consumed: an object for single-table calls, a list (one per table) for batches and transactions. */
export function addConsumedCapacity(usage: RequestUsage, kind: 'read' | 'write', consumed: unknown): void {
  for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    const { CapacityUnits, ReadCapacityUnits, WriteCapacityUnits } = entry as ConsumedCapacity;
    if (ReadCapacityUnits !== undefined || WriteCapacityUnits !== undefined) {
      // Split by DynamoDB itself (transactions may read and write).
      if (ReadCapacityUnits) usage.add('readUnits', ReadCapacityUnits);
      if (WriteCapacityUnits) usage.add('writeUnits', WriteCapacityUnits);
    } else if (CapacityUnits) {
      usage.add(kind === 'read' ? 'readUnits' : 'writeUnits', CapacityUnits);
    }
  }
}

const MIDDLEWARE_NAME = 'cellbookConsumedCapacity';

/**
 * Meters the capacity every command of `doc` consumes inside a metered request (`withRequestUsage`).
 * Outside one (metering off, control-plane work) the command goes out untouched. Returns `doc`.
 */
export function meterConsumedCapacity(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const usage = currentRequestUsage();
      const kind = context.commandName ? CAPACITY_KIND[context.commandName] : undefined;
      if (!usage || !kind) return next(args);
      const output = await next({ ...args, input: { ...(args.input as object), ReturnConsumedCapacity: 'TOTAL' } });
      addConsumedCapacity(usage, kind, (output.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
      return output;
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );
  return doc;
}
