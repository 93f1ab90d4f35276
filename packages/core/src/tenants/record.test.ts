import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cellbookTable } from '@cellbook/local/aws/cellbook-table';
import { startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantRecordKey } from '../keys/keys.js';
import { documentClient, isConditionalCheckFailed, releaseDocumentClient } from '../shared/dynamo.js';
import { MOVE_STATES, isMoveInProgress, noMoveInProgressCondition, type MoveState } from './record.js';

const UNDER_WAY: readonly MoveState[] = ['REQUESTED', 'FROZEN', 'COPIED', 'VERIFIED', 'SWITCHED'];
const ENDED: readonly MoveState[] = ['DONE', 'FAILED'];

describe('isMoveInProgress', () => {
  it('is true for every state of a move under way, false once the move is DONE or FAILED, false with no move', () => {
    expect(MOVE_STATES.filter((state) => isMoveInProgress({ state }))).toEqual(UNDER_WAY);
    expect(MOVE_STATES.filter((state) => !isMoveInProgress({ state }))).toEqual(ENDED);
    expect(isMoveInProgress(undefined)).toBe(false);
  });

  it('fails closed: a move in a state it does not know counts as under way', () => {
    expect(isMoveInProgress({ state: 'MYSTERY' as MoveState })).toBe(true);
  });
});

describe('noMoveInProgressCondition, as DynamoDB evaluates it', () => {
  const TABLE = 'tenants';
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    doc = documentClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await doc.send(new CreateTableCommand(cellbookTable(TABLE)));
  });
  afterAll(async () => {
    releaseDocumentClient(doc);
    await dynamo?.close();
  });

  /** Whether a write guarded by the condition goes through for a tenant whose record holds `move`. */
  async function writeAllowed(tenantId: string, move: unknown): Promise<boolean> {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { ...tenantRecordKey(tenantId), tenantId, ...(move === undefined ? {} : { move }) } }));
    const noMove = noMoveInProgressCondition();
    try {
      await doc.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: tenantRecordKey(tenantId),
          UpdateExpression: 'SET touched = :yes',
          ConditionExpression: `attribute_exists(PK) AND ${noMove.expression}`,
          ExpressionAttributeNames: noMove.names,
          ExpressionAttributeValues: { ':yes': true, ...noMove.values },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  it('lets the write through for a tenant with no move, or whose move has ended', async () => {
    expect(await writeAllowed('t-none', undefined)).toBe(true);
    for (const state of ENDED) expect(await writeAllowed(`t-${state.toLowerCase()}`, { moveId: 'm', state }), state).toBe(true);
  });

  it('refuses it while a move is under way, in every state', async () => {
    for (const state of UNDER_WAY) expect(await writeAllowed(`t-${state.toLowerCase()}`, { moveId: 'm', state }), state).toBe(false);
  });

  it('refuses it for a move whose state it does not know, or cannot read', async () => {
    expect(await writeAllowed('t-mystery', { moveId: 'm', state: 'MYSTERY' })).toBe(false);
    expect(await writeAllowed('t-stateless', { moveId: 'm' })).toBe(false);
  });
});
