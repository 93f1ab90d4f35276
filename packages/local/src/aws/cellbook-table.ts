import type { CreateTableCommandInput, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';

/** GSI1: the listings (a tenant's cases by recency, the registry's tenants by status). */
const LISTING_INDEX: GlobalSecondaryIndex = {
  IndexName: 'GSI1',
  KeySchema: [
    { AttributeName: 'GSI1PK', KeyType: 'HASH' },
    { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'ALL' },
};

/**
 * The key layout of Cellbook's tables, as the stacks declare it: items keyed PK/SK, and on the
 * tables that list (each cell's table, the tenant registry) the GSI1 index on GSI1PK/GSI1SK.
 * The local platform creates its tables from it; tests that want "a table like a cell's" do too.
 */
export function cellbookTable(TableName: string, { listingIndex = true }: { listingIndex?: boolean } = {}): CreateTableCommandInput {
  const keys = listingIndex ? ['PK', 'SK', 'GSI1PK', 'GSI1SK'] : ['PK', 'SK'];
  return {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keys.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
    ...(listingIndex ? { GlobalSecondaryIndexes: [LISTING_INDEX] } : {}),
  };
}
