import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_SORT_PREFIX, NOTE_SORT_PREFIX, caseKey, caseListingKey, evidenceKey } from '../keys/keys.js';
import { lanesOf, positionOf } from './walk.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const EVIDENCE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T7';
const CREATED_AT = '2025-03-01T10:00:00.000Z';
// positionOf reads no table: the lanes only say which segments a walk has.
const lanes = lanesOf({ cell: { doc: {} as DynamoDBDocumentClient, tableName: 'cell' } });

/** The cursor fields an export or copy records just after `after` in t-1's case partition. */
function afterInCase(tenantId: string, after: string): Record<string, string> {
  return { tenant: tenantId, segment: 'cases', partition: caseKey(tenantId, CASE_ID).PK, listing: caseListingKey(tenantId, 'OPEN', CREATED_AT, CASE_ID).GSI1SK, after };
}

describe('positionOf', () => {
  it('resumes a walk right after any item a case partition holds: the case, a note, an evidence file', () => {
    for (const after of ['CASE', `${NOTE_SORT_PREFIX}${EVIDENCE_ID}`, evidenceKey('t-1', CASE_ID, EVIDENCE_ID).SK]) {
      expect(positionOf(afterInCase('t-1', after), 't-1', lanes), after).toEqual({
        segment: 'cases',
        partition: caseKey('t-1', CASE_ID).PK,
        listingSort: caseListingKey('t-1', 'OPEN', CREATED_AT, CASE_ID).GSI1SK,
        after,
      });
    }
  });

  it('refuses a position in another tenant’s partition, or after a sort key no case partition holds', () => {
    expect(positionOf(afterInCase('t-10', evidenceKey('t-10', CASE_ID, EVIDENCE_ID).SK), 't-1', lanes)).toBeUndefined();
    for (const after of [`${EVIDENCE_SORT_PREFIX}not-an-id`, 'EVIDENCE', `${EVIDENCE_SORT_PREFIX}${EVIDENCE_ID}#x`]) {
      expect(positionOf(afterInCase('t-1', after), 't-1', lanes), after).toBeUndefined();
    }
  });
});
