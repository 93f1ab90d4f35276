import { describe, expect, it } from 'vitest';
import { planDynamoDbAccess, queriedPartition, tableArn, type TableKeys } from './dynamodb-access-checks.js';

const TABLE = 'cellbook-cell-1';
const keys: TableKeys = { partitionKey: 'PK', indexPartitionKeys: { GSI1: 'GSI1PK' } };
const lookup = async (table: string): Promise<TableKeys | undefined> => (table === TABLE ? keys : undefined);
const S = (value: string) => ({ S: value });

describe('queriedPartition', () => {
  const values = { ':pk': S('TENANT#t-1#CASE#a'), ':sk': S('NOTE#'), ':a': S('a'), ':b': S('b') };

  it.each([
    ['PK = :pk', {}],
    ['#p = :pk AND begins_with(#s, :sk)', { '#p': 'PK', '#s': 'SK' }],
    ['(PK = :pk) AND SK BETWEEN :a AND :b', {}],
    ['SK >= :a and PK=:pk', {}],
  ])('finds the partition in %s', (expression, names) => {
    expect(queriedPartition({ KeyConditionExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values }, 'PK')).toBe('TENANT#t-1#CASE#a');
  });

  it.each([
    ['PK = :pk AND #again = :a', { '#again': 'PK' }],
    ['begins_with(PK, :pk)', {}],
    ['PK BETWEEN :a AND :b', {}],
    ['PK = :pk OR PK = :a', {}],
    ['PK = :missing', {}],
    [':pk = PK', {}],
    ['#unmapped = :pk', {}],
    ['SK = :sk', {}],
    ['PK = :pk; SK = :sk', {}],
  ])('cannot be sure of the partition in %s', (expression, names) => {
    expect(queriedPartition({ KeyConditionExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values }, 'PK')).toBe(undefined);
  });

  it('reads the legacy KeyConditions EQ form', () => {
    const KeyConditions = { PK: { ComparisonOperator: 'EQ', AttributeValueList: [S('TENANT#t-1#META')] } };
    expect(queriedPartition({ KeyConditions }, 'PK')).toBe('TENANT#t-1#META');
    expect(queriedPartition({ KeyConditions: { PK: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [S('TENANT#')] } } }, 'PK')).toBe(undefined);
  });

  it('refuses a request that carries both forms', () => {
    const request = { KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: values, KeyConditions: {} };
    expect(queriedPartition(request, 'PK')).toBe(undefined);
  });
});

describe('planDynamoDbAccess', () => {
  it('checks a GSI query against the index ARN and the index partition key', async () => {
    const plan = await planDynamoDbAccess(
      'Query',
      { TableName: TABLE, IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :p', ExpressionAttributeValues: { ':p': S('TENANT#t-1#CASES') } },
      lookup,
    );
    expect(plan).toEqual({
      kind: 'authorize',
      checks: [{ action: 'dynamodb:Query', resource: `${tableArn(TABLE)}/index/GSI1`, context: { 'dynamodb:LeadingKeys': ['TENANT#t-1#CASES'] } }],
    });
  });

  it('puts every key of a table into one multi-valued check', async () => {
    const plan = await planDynamoDbAccess(
      'BatchWriteItem',
      {
        RequestItems: {
          [TABLE]: [{ PutRequest: { Item: { PK: S('TENANT#t-1#CASE#a'), SK: S('CASE') } } }, { DeleteRequest: { Key: { PK: S('TENANT#t-2#CASE#b'), SK: S('CASE') } } }],
        },
      },
      lookup,
    );
    expect(plan).toMatchObject({ checks: [{ action: 'dynamodb:BatchWriteItem', context: { 'dynamodb:LeadingKeys': ['TENANT#t-1#CASE#a', 'TENANT#t-2#CASE#b'] } }] });
  });

  it('leaves LeadingKeys out when one key of a batch has no partition value', async () => {
    const plan = await planDynamoDbAccess('BatchGetItem', { RequestItems: { [TABLE]: { Keys: [{ PK: S('TENANT#t-1#CASE#a') }, { SK: S('CASE') }] } } }, lookup);
    expect(plan).toMatchObject({ checks: [{ action: 'dynamodb:BatchGetItem' }] });
    expect(plan.kind === 'authorize' && plan.checks[0]?.context).toBeFalsy();
  });

  it('authorizes each transaction member as its single-item action', async () => {
    const key = { PK: S('TENANT#t-1#CASE#a'), SK: S('CASE') };
    const plan = await planDynamoDbAccess(
      'TransactWriteItems',
      { TransactItems: [{ ConditionCheck: { TableName: TABLE, Key: key } }, { Update: { TableName: TABLE, Key: key } }] },
      lookup,
    );
    expect(plan.kind === 'authorize' && plan.checks.map((check) => check.action)).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem']);
  });

  it('asks the key-schema cache to forget a table whose schema a call changes', async () => {
    expect(await planDynamoDbAccess('UpdateTable', { TableName: TABLE }, lookup)).toMatchObject({ changesKeysOf: TABLE });
    expect(await planDynamoDbAccess('DescribeTable', { TableName: TABLE }, lookup)).not.toHaveProperty('changesKeysOf');
  });

  it('refuses PartiQL, whose keys it cannot derive', async () => {
    expect(await planDynamoDbAccess('ExecuteStatement', { Statement: `SELECT * FROM "${TABLE}"` }, lookup)).toEqual({
      kind: 'reject',
      type: 'UnknownOperationException',
    });
  });

  it('answers a missing TableName with DynamoDB’s validation message', async () => {
    expect(await planDynamoDbAccess('GetItem', { Key: {} }, lookup)).toEqual({
      kind: 'reject',
      type: 'ValidationException',
      message: "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
    });
  });
});
