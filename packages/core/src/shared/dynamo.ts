import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/** The items of one Query page, as the document client unmarshals them. */
export type QueryItems = NonNullable<QueryCommandOutput['Items']>;

/** Wraps a low-level client the way every repository in core expects (no undefined attributes). */
export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * Closes a document client's connections. lib-dynamodb's `destroy()` is a no-op; the request
 * handler (shared with the wrapped DynamoDBClient) owns the keep-alive sockets.
 */
export function releaseDocumentClient(doc: DynamoDBDocumentClient): void {
  (doc.config.requestHandler as { destroy?: () => void }).destroy?.();
}

let shared: DynamoDBDocumentClient | undefined;

/**
 * The function's own (unscoped) client, created once per container. Only control-plane code and
 * the authorizer use it; tenant data goes through `tenantTable()`.
 */
export function systemDocumentClient(): DynamoDBDocumentClient {
  shared ??= documentClient();
  return shared;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * True when a TransactWriteItems was cancelled because the condition of its member at `index` failed
 * (DynamoDB reports one reason per member, in order).
 */
export function isTransactionConditionFailed(error: unknown, index: number): boolean {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: readonly ({ Code?: string } | undefined)[] }).CancellationReasons;
  return reasons?.[index]?.Code === 'ConditionalCheckFailed';
}

/**
 * Each page of a Query, following `LastEvaluatedKey` to the end (from `input.ExclusiveStartKey`
 * when given). For reads that must see a whole key range — a bounded partition, an aggregate — not
 * for listings, which stop at their page and hand out a cursor.
 */
export async function* queryPages(doc: DynamoDBDocumentClient, input: QueryCommandInput): AsyncGenerator<QueryItems> {
  const { ExclusiveStartKey: first, ...query } = input;
  let startKey = first;
  do {
    const page = await doc.send(new QueryCommand({ ...query, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Every item a Query matches, all pages read (see `queryPages`). */
export async function queryAllItems(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<QueryItems> {
  const items: QueryItems = [];
  for await (const page of queryPages(doc, input)) items.push(...page);
  return items;
}
