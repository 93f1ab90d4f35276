/**
 * What IAM evaluates for one DynamoDB API call: the action, the table or index ARN, and
 * `dynamodb:LeadingKeys` — every partition-key value the call can touch. When the keys cannot be
 * established with certainty the context key is left out, so a policy that requires it denies.
 */
import { ownRecord, ownValue } from '@cellbook/core/shared/own-record';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type AuthorizationRequest } from './types.js';

export interface TableKeys {
  /** Partition key attribute of the table (and so of its local secondary indexes). */
  partitionKey: string;
  /** Partition key attribute of every secondary index, by index name. */
  indexPartitionKeys: Record<string, string>;
}

/** Resolves a table's key attributes; undefined when the table does not exist. */
export type TableKeysLookup = (tableName: string) => Promise<TableKeys | undefined>;

export type DynamoDbAccessPlan =
  | {
      kind: 'authorize';
      /** Every check must pass; the first refused one is what AccessDenied reports. */
      checks: AuthorizationRequest[];
      /** Set for calls that change a table's key schema, whose cached keys must then be dropped. */
      changesKeysOf?: string;
    }
  | { kind: 'reject'; type: 'UnknownOperationException' | 'ValidationException'; message?: string };

const LEADING_KEYS = 'dynamodb:LeadingKeys';

/** Calls about one table as a whole, carrying `TableName` and no item keys. */
export const TABLE_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateTable',
  'DeleteTable',
  'DescribeTable',
  'UpdateTable',
  'DescribeTimeToLive',
  'UpdateTimeToLive',
  'DescribeContinuousBackups',
  'UpdateContinuousBackups',
  'DescribeContributorInsights',
  'UpdateContributorInsights',
  'DescribeKinesisStreamingDestination',
  'DescribeTableReplicaAutoScaling',
]);
const KEY_SCHEMA_OPERATIONS = new Set(['CreateTable', 'DeleteTable', 'UpdateTable']);
const RESOURCE_ARN_OPERATIONS = new Set(['TagResource', 'UntagResource', 'ListTagsOfResource']);
/** Account-level calls: IAM takes no resource for them; DynamoDB's messages print `table/*`. */
const ACCOUNT_OPERATIONS = new Set(['ListTables', 'DescribeLimits']);

export function tableArn(tableName: string): string {
  return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName}`;
}

/**
 * Plans the IAM checks for `DynamoDB_20120810.<operation>` with the parsed JSON body. Operations
 * whose keys cannot be derived from the request (PartiQL, backups, global tables) are refused as
 * unknown rather than let through unchecked.
 */
export async function planDynamoDbAccess(operation: string, body: unknown, lookupKeys: TableKeysLookup): Promise<DynamoDbAccessPlan> {
  const request = isRecord(body) ? body : {};
  const action = `dynamodb:${operation}`;

  if (ACCOUNT_OPERATIONS.has(operation)) return authorize([{ action, resource: tableArn('*') }]);
  if (RESOURCE_ARN_OPERATIONS.has(operation)) {
    const resourceArn = request.ResourceArn;
    if (typeof resourceArn !== 'string') return notNull('resourceArn');
    return authorize([{ action, resource: resourceArn }]);
  }

  switch (operation) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
    case 'PutItem': {
      const table = tableOf(request.TableName);
      if (table === undefined) return notNull('tableName');
      const item = operation === 'PutItem' ? request.Item : request.Key;
      const keys = await lookupKeys(table.name);
      return authorize([itemCheck(action, table.arn, keys && partitionValues([item], keys.partitionKey))]);
    }
    case 'Query': {
      const table = tableOf(request.TableName);
      if (table === undefined) return notNull('tableName');
      const indexName = typeof request.IndexName === 'string' ? request.IndexName : undefined;
      const keys = await lookupKeys(table.name);
      const partitionKey = keys && (indexName === undefined ? keys.partitionKey : ownValue(keys.indexPartitionKeys, indexName));
      const value = partitionKey === undefined ? undefined : queriedPartition(request, partitionKey);
      const resource = indexName === undefined ? table.arn : `${table.arn}/index/${indexName}`;
      return authorize([itemCheck(action, resource, value === undefined ? undefined : [value])]);
    }
    case 'Scan': {
      const table = tableOf(request.TableName);
      if (table === undefined) return notNull('tableName');
      const resource = typeof request.IndexName === 'string' ? `${table.arn}/index/${request.IndexName}` : table.arn;
      return authorize([{ action, resource }]);
    }
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return planBatch(operation, request.RequestItems, lookupKeys);
    case 'TransactGetItems':
    case 'TransactWriteItems':
      return planTransaction(request.TransactItems, lookupKeys);
    default: {
      if (!TABLE_OPERATIONS.has(operation)) return { kind: 'reject', type: 'UnknownOperationException' };
      const table = tableOf(request.TableName);
      if (table === undefined) return notNull('tableName');
      return authorize([{ action, resource: table.arn }], KEY_SCHEMA_OPERATIONS.has(operation) ? table.name : undefined);
    }
  }
}

/** One check per table, with all of that table's keys, so one foreign key denies the whole batch. */
async function planBatch(operation: 'BatchGetItem' | 'BatchWriteItem', requestItems: unknown, lookupKeys: TableKeysLookup): Promise<DynamoDbAccessPlan> {
  if (!isRecord(requestItems)) return notNull('requestItems');
  const checks: AuthorizationRequest[] = [];
  for (const [tableName, entry] of Object.entries(requestItems)) {
    const table = tableOf(tableName);
    if (table === undefined) return notNull('requestItems');
    const items =
      operation === 'BatchGetItem' ? (isRecord(entry) && Array.isArray(entry.Keys) ? entry.Keys : undefined) : Array.isArray(entry) ? entry.map(writeRequestKey) : undefined;
    const keys = await lookupKeys(table.name);
    checks.push(itemCheck(`dynamodb:${operation}`, table.arn, keys && items && partitionValues(items, keys.partitionKey)));
  }
  return authorize(checks);
}

function writeRequestKey(request: unknown): unknown {
  if (!isRecord(request)) return undefined;
  if (isRecord(request.PutRequest) && request.DeleteRequest === undefined) return request.PutRequest.Item;
  if (isRecord(request.DeleteRequest) && request.PutRequest === undefined) return request.DeleteRequest.Key;
  return undefined;
}

/** IAM has no Transact* actions: each member is authorized as the single-item action it performs. */
const TRANSACT_MEMBERS = ownRecord<{ action: string; keyField: 'Key' | 'Item' }>([
  ['Get', { action: 'dynamodb:GetItem', keyField: 'Key' }],
  ['Put', { action: 'dynamodb:PutItem', keyField: 'Item' }],
  ['Update', { action: 'dynamodb:UpdateItem', keyField: 'Key' }],
  ['Delete', { action: 'dynamodb:DeleteItem', keyField: 'Key' }],
  ['ConditionCheck', { action: 'dynamodb:ConditionCheckItem', keyField: 'Key' }],
]);

async function planTransaction(transactItems: unknown, lookupKeys: TableKeysLookup): Promise<DynamoDbAccessPlan> {
  if (!Array.isArray(transactItems)) return notNull('transactItems');
  const checks: AuthorizationRequest[] = [];
  for (const member of transactItems) {
    const kinds = isRecord(member) ? Object.keys(member).filter((kind) => Object.hasOwn(TRANSACT_MEMBERS, kind)) : [];
    const kind = kinds.length === 1 ? kinds[0] : undefined;
    const spec = kind === undefined ? undefined : ownValue(TRANSACT_MEMBERS, kind);
    const operation = kind === undefined || !isRecord(member) ? undefined : ownValue(member, kind);
    if (spec === undefined || !isRecord(operation)) {
      return { kind: 'reject', type: 'ValidationException', message: 'TransactItems can only contain one of Check, Put, Update or Delete' };
    }
    const table = tableOf(operation.TableName);
    if (table === undefined) return notNull('tableName');
    const keys = await lookupKeys(table.name);
    checks.push(itemCheck(spec.action, table.arn, keys && partitionValues([operation[spec.keyField]], keys.partitionKey)));
  }
  return authorize(checks);
}

/**
 * The single partition a Query reads: `<pk> = :value` in KeyConditionExpression, or EQ in the
 * legacy KeyConditions. Anything less certain (both forms, a second mention of the key, operators a
 * key condition does not allow) yields undefined.
 */
export function queriedPartition(request: Record<string, unknown>, partitionKey: string): string | undefined {
  const expression = request.KeyConditionExpression;
  const legacy = request.KeyConditions;
  if (typeof expression === 'string' && legacy === undefined) {
    return partitionFromExpression(expression, request.ExpressionAttributeNames, request.ExpressionAttributeValues, partitionKey);
  }
  if (expression === undefined && isRecord(legacy)) {
    const condition = ownValue(legacy, partitionKey);
    if (!isRecord(condition) || condition.ComparisonOperator !== 'EQ') return undefined;
    const list = condition.AttributeValueList;
    return Array.isArray(list) && list.length === 1 ? keyValue(list[0]) : undefined;
  }
  return undefined;
}

type Token = { kind: 'name'; name: string } | { kind: 'value'; placeholder: string } | { kind: 'symbol'; text: string } | { kind: 'word'; text: string };

const TOKEN = /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|=|<|>|\(|\)|,))\s*/y;
/** The only words a key condition may contain besides attribute names. */
const KEY_CONDITION_WORDS = new Set(['and', 'between', 'begins_with']);

function partitionFromExpression(expression: string, names: unknown, values: unknown, partitionKey: string): string | undefined {
  const tokens = tokenize(expression, isRecord(names) ? names : {});
  if (tokens === undefined) return undefined;

  let found: string | undefined;
  let mentions = 0;
  for (const [i, token] of tokens.entries()) {
    if (token.kind !== 'name' || token.name !== partitionKey) continue;
    mentions += 1;
    const operator = tokens[i + 1];
    const operand = tokens[i + 2];
    if (operator?.kind !== 'symbol' || operator.text !== '=' || operand?.kind !== 'value') return undefined;
    found = isRecord(values) ? keyValue(ownValue(values, operand.placeholder)) : undefined;
  }
  return mentions === 1 ? found : undefined;
}

function tokenize(expression: string, names: Record<string, unknown>): Token[] | undefined {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    const match = TOKEN.exec(expression);
    if (match === null) return undefined;
    const [, placeholderName, valuePlaceholder, word, symbol] = match;
    if (placeholderName !== undefined) {
      const name = ownValue(names, placeholderName);
      if (typeof name !== 'string') return undefined;
      tokens.push({ kind: 'name', name });
    } else if (valuePlaceholder !== undefined) {
      tokens.push({ kind: 'value', placeholder: valuePlaceholder });
    } else if (word !== undefined) {
      tokens.push(KEY_CONDITION_WORDS.has(word.toLowerCase()) ? { kind: 'word', text: word.toLowerCase() } : { kind: 'name', name: word });
    } else if (symbol !== undefined) {
      tokens.push({ kind: 'symbol', text: symbol });
    }
  }
  return tokens;
}

/** Partition values of a list of keys or items; undefined if any of them lacks a usable one. */
function partitionValues(items: unknown[], partitionKey: string): string[] | undefined {
  const values = new Set<string>();
  for (const item of items) {
    const value = isRecord(item) ? keyValue(ownValue(item, partitionKey)) : undefined;
    if (value === undefined) return undefined;
    values.add(value);
  }
  return values.size > 0 ? [...values] : undefined;
}

/** The string form IAM compares for a key attribute value ({"S": …}, {"N": …} or {"B": base64}). */
function keyValue(attributeValue: unknown): string | undefined {
  if (!isRecord(attributeValue)) return undefined;
  const entries = Object.entries(attributeValue);
  if (entries.length !== 1) return undefined;
  const [type, value] = entries[0] as [string, unknown];
  return (type === 'S' || type === 'N' || type === 'B') && typeof value === 'string' ? value : undefined;
}

function itemCheck(action: string, resource: string, leadingKeys: string[] | undefined): AuthorizationRequest {
  return leadingKeys === undefined ? { action, resource } : { action, resource, context: { [LEADING_KEYS]: leadingKeys } };
}

/** `TableName` accepts a name or, since 2024, a table ARN. */
function tableOf(tableName: unknown): { name: string; arn: string } | undefined {
  if (typeof tableName !== 'string' || tableName === '') return undefined;
  const arnMatch = /^arn:[^:]+:dynamodb:[^:]*:\d{12}:table\/([^/]+)$/.exec(tableName);
  if (arnMatch !== null) return { name: arnMatch[1] as string, arn: tableName };
  return { name: tableName, arn: tableArn(tableName) };
}

function authorize(checks: AuthorizationRequest[], changesKeysOf?: string): DynamoDbAccessPlan {
  return changesKeysOf === undefined ? { kind: 'authorize', checks } : { kind: 'authorize', checks, changesKeysOf };
}

function notNull(member: string): DynamoDbAccessPlan {
  return {
    kind: 'reject',
    type: 'ValidationException',
    message: `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
