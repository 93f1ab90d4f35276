import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { caseKey, caseListingPartition, evidenceObjectKey, exportObjectKey, noteKey, tenantMetaKey, tenantObjectPrefix } from '../keys/keys.js';
import { TENANT_ITEM_ACTIONS, TENANT_OBJECT_ACTIONS, tenantAccessPolicy, type TenantAccessPolicyDocument } from './tenant-access-policy.js';

const ACCOUNT = '000000000000';
const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/X`;
const GSI1_ARN = `${TABLE_ARN}/index/GSI1`;
const OTHER_TABLE_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Y`;
const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const NOTE_ID = '01HZY3K0A1B2C3D4E5F6G7H8J9';

interface Request {
  action: string;
  resource?: string;
  /** S3 request context (`s3:prefix` of a listing); omitted when the request carries none. */
  s3Context?: Record<string, string>;
  /** The request's partition keys; omitted for requests that carry none (Scan). */
  leadingKeys?: string[];
  /** The session's TenantId tag; defaults to t-1. */
  tenantTag?: string;
}

/** Evaluates `policy` for a tenant-access session of `tenantTag`, as IAM would. */
async function decide(policy: TenantAccessPolicyDocument, request: Request): Promise<string> {
  const tenantTag = request.tenantTag ?? 't-1';
  const contextVariables: Record<string, string | string[]> = { 'aws:PrincipalTag/TenantId': tenantTag };
  if (request.leadingKeys) contextVariables['dynamodb:LeadingKeys'] = request.leadingKeys;
  Object.assign(contextVariables, request.s3Context);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/cell-1-tenant-access/tenant-${tenantTag}`,
        action: request.action,
        resource: { resource: request.resource ?? TABLE_ARN, accountId: ACCOUNT },
        contextVariables,
      },
      identityPolicies: [{ name: 'tenant-items', policy: policy as unknown as Record<string, unknown> }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  // A simulation error (bad action, bad context key) must fail the test, not read as a denial.
  if (result.resultType === 'error') throw new Error(`simulation error: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const BUCKET_ARN = 'arn:aws:s3:::cell-1-evidence';
const policy = tenantAccessPolicy({ tableArn: TABLE_ARN, bucketArn: BUCKET_ARN });

/** The same document with the delimiter dropped: `TENANT#${tag}*`. The mistake the `#` guards against. */
function loosened(document: TenantAccessPolicyDocument): TenantAccessPolicyDocument {
  const copy = structuredClone(document);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, written as IAM reads it, not a template literal.
  copy.Statement[0].Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = ['TENANT#${aws:PrincipalTag/TenantId}*'];
  return copy;
}

const t1Case = caseKey('t-1', CASE_ID).PK;
const t10Case = caseKey('t-10', CASE_ID).PK;
const t2Case = caseKey('t-2', CASE_ID).PK;

describe('tenantAccessPolicy', () => {
  it('is one Allow statement on the table and its indexes, conditioned on the caller’s own leading keys', () => {
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TenantItemsOnly',
          Effect: 'Allow',
          Action: [...TENANT_ITEM_ACTIONS],
          Resource: [TABLE_ARN, `${TABLE_ARN}/index/*`],
          Condition: {
            'ForAllValues:StringLike': {
              // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, written as IAM reads it, not a template literal.
              'dynamodb:LeadingKeys': ['TENANT#${aws:PrincipalTag/TenantId}', 'TENANT#${aws:PrincipalTag/TenantId}#*'],
            },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        },
        {
          Sid: 'TenantObjectsOnly',
          Effect: 'Allow',
          Action: [...TENANT_OBJECT_ACTIONS],
          Resource: `${BUCKET_ARN}/tenant=\${aws:PrincipalTag/TenantId}/*`,
        },
        {
          Sid: 'ListTenantPrefixOnly',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: BUCKET_ARN,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, written as IAM reads it, not a template literal.
          Condition: { StringLike: { 's3:prefix': ['tenant=${aws:PrincipalTag/TenantId}/*'] } },
        },
      ],
    });
  });

  it('grants no Scan, no table management and no streams', () => {
    const actions: readonly string[] = TENANT_ITEM_ACTIONS;
    for (const action of ['dynamodb:Scan', 'dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:GetRecords', 'dynamodb:*', '*']) {
      expect(actions).not.toContain(action);
    }
  });
});

describe('tenantAccessPolicy evaluated by IAM (iam-simulate)', () => {
  it.each(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'])('allows t-1 to %s its own case', async (action) => {
    expect(await decide(policy, { action, leadingKeys: [t1Case] })).toBe('Allowed');
  });

  it('allows t-1 to write a note and its counters (any key under TENANT#t-1#)', async () => {
    expect(await decide(policy, { action: 'dynamodb:PutItem', leadingKeys: [noteKey('t-1', CASE_ID, NOTE_ID).PK] })).toBe('Allowed');
    expect(await decide(policy, { action: 'dynamodb:UpdateItem', leadingKeys: [tenantMetaKey('t-1').PK] })).toBe('Allowed');
  });

  it('allows t-1 to read the exact TENANT#t-1 key', async () => {
    expect(await decide(policy, { action: 'dynamodb:GetItem', leadingKeys: ['TENANT#t-1'] })).toBe('Allowed');
  });

  it('allows t-1 to Query its own listing partition on table/X/index/GSI1', async () => {
    expect(await decide(policy, { action: 'dynamodb:Query', resource: GSI1_ARN, leadingKeys: [caseListingPartition('t-1')] })).toBe('Allowed');
  });

  it("denies t-1 a Query on t-10's listing partition on GSI1", async () => {
    expect(await decide(policy, { action: 'dynamodb:Query', resource: GSI1_ARN, leadingKeys: [caseListingPartition('t-10')] })).toBe('ImplicitlyDenied');
  });

  it.each(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'])(
    "denies t-1 %s on t-10's case although t-10 starts with t-1",
    async (action) => {
      expect(await decide(policy, { action, leadingKeys: [t10Case] })).toBe('ImplicitlyDenied');
    },
  );

  it('denies t-1 the exact TENANT#t-10 key', async () => {
    expect(await decide(policy, { action: 'dynamodb:GetItem', leadingKeys: ['TENANT#t-10'] })).toBe('ImplicitlyDenied');
  });

  it("denies t-1 access to t-2's case", async () => {
    expect(await decide(policy, { action: 'dynamodb:GetItem', leadingKeys: [t2Case] })).toBe('ImplicitlyDenied');
  });

  it('lets t-10 reach its own case, so the denial for t-1 is about the tenant, not the key shape', async () => {
    expect(await decide(policy, { action: 'dynamodb:GetItem', leadingKeys: [t10Case], tenantTag: 't-10' })).toBe('Allowed');
  });

  it('denies a Scan, which carries no LeadingKeys', async () => {
    expect(await decide(policy, { action: 'dynamodb:Scan' })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 'dynamodb:Scan', resource: GSI1_ARN })).toBe('ImplicitlyDenied');
  });

  it('denies an allowed action when the request carries no LeadingKeys (ForAllValues alone would be vacuously true)', async () => {
    expect(await decide(policy, { action: 'dynamodb:Query' })).toBe('ImplicitlyDenied');
    // …and the Null clause is what does it: without it the simulator allows the keyless request.
    const withoutNull = structuredClone(policy) as unknown as { Statement: [{ Condition: Record<string, unknown> }] };
    delete withoutNull.Statement[0].Condition.Null;
    expect(await decide(withoutNull as unknown as TenantAccessPolicyDocument, { action: 'dynamodb:Query' })).toBe('Allowed');
  });

  it('allows a BatchGetItem whose keys are all t-1’s', async () => {
    expect(await decide(policy, { action: 'dynamodb:BatchGetItem', leadingKeys: [t1Case, tenantMetaKey('t-1').PK] })).toBe('Allowed');
  });

  it("denies a BatchGetItem that mixes t-1's and t-2's keys", async () => {
    expect(await decide(policy, { action: 'dynamodb:BatchGetItem', leadingKeys: [t1Case, t2Case] })).toBe('ImplicitlyDenied');
  });

  it("denies a BatchWriteItem that slips one t-10 key among t-1's", async () => {
    expect(await decide(policy, { action: 'dynamodb:BatchWriteItem', leadingKeys: [t1Case, t10Case] })).toBe('ImplicitlyDenied');
  });

  it("denies t-1's own keys on another table", async () => {
    expect(await decide(policy, { action: 'dynamodb:GetItem', resource: OTHER_TABLE_ARN, leadingKeys: [t1Case] })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 'dynamodb:Query', resource: `${OTHER_TABLE_ARN}/index/GSI1`, leadingKeys: [caseListingPartition('t-1')] })).toBe('ImplicitlyDenied');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the name quotes the loosened IAM pattern, policy variable included.
  it('would let t-1 read t-10 if the condition were loosened to TENANT#${tag}* — so the strict denial above is meaningful', async () => {
    const loose = loosened(policy);
    expect(await decide(loose, { action: 'dynamodb:GetItem', leadingKeys: [t10Case] })).toBe('Allowed');
    expect(await decide(loose, { action: 'dynamodb:Query', resource: GSI1_ARN, leadingKeys: [caseListingPartition('t-10')] })).toBe('Allowed');
    // The strict document, evaluated by the same simulator on the same requests, refuses both.
    expect(await decide(policy, { action: 'dynamodb:GetItem', leadingKeys: [t10Case] })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 'dynamodb:Query', resource: GSI1_ARN, leadingKeys: [caseListingPartition('t-10')] })).toBe('ImplicitlyDenied');
  });
});

describe('tenantAccessPolicy on the evidence bucket, evaluated by IAM (iam-simulate)', () => {
  const EVIDENCE_ID = '01HZY3M1B2C3D4E5F6G7H8J9KA';
  const EXPORT_ID = '01HZY3N1B2C3D4E5F6G7H8J9KB';
  const object = (key: string) => `${BUCKET_ARN}/${key}`;
  const t1Evidence = object(evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID));
  const t10Evidence = object(evidenceObjectKey('t-10', CASE_ID, EVIDENCE_ID));
  const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
  /** The same document with the slash dropped from the object resource: `tenant=${tag}*`. */
  function withoutSlash(document: TenantAccessPolicyDocument): TenantAccessPolicyDocument {
    const copy = structuredClone(document);
    copy.Statement[1].Resource = `${BUCKET_ARN}/tenant=\${aws:PrincipalTag/TenantId}*`;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, written as IAM reads it, not a template literal.
    copy.Statement[2].Condition.StringLike['s3:prefix'] = ['tenant=${aws:PrincipalTag/TenantId}*'];
    return copy;
  }

  it.each(OBJECT_ACTIONS)('allows t-1 %s on its own evidence and export objects', async (action) => {
    expect(await decide(policy, { action, resource: t1Evidence })).toBe('Allowed');
    expect(await decide(policy, { action, resource: object(exportObjectKey('t-1', EXPORT_ID)) })).toBe('Allowed');
  });

  it.each(OBJECT_ACTIONS)("denies t-1 %s on t-10's objects although t-10 starts with t-1", async (action) => {
    expect(await decide(policy, { action, resource: t10Evidence })).toBe('ImplicitlyDenied');
  });

  it("lets t-10 reach its own objects, so the denial for t-1 is about the tenant, not the key's shape", async () => {
    expect(await decide(policy, { action: 's3:GetObject', resource: t10Evidence, tenantTag: 't-10' })).toBe('Allowed');
  });

  it('denies objects outside every tenant prefix and the same key in another bucket', async () => {
    expect(await decide(policy, { action: 's3:GetObject', resource: object('evidence/x') })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 's3:GetObject', resource: object('tenant=t-1') })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 's3:GetObject', resource: `arn:aws:s3:::other-bucket/${evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID)}` })).toBe('ImplicitlyDenied');
  });

  it('grants no bucket configuration, ACL, tagging, version or upload-listing action, even on its own prefix', async () => {
    for (const action of ['s3:PutObjectAcl', 's3:GetObjectVersion', 's3:DeleteObjectVersion', 's3:PutObjectTagging', 's3:RestoreObject']) {
      expect(await decide(policy, { action, resource: t1Evidence })).toBe('ImplicitlyDenied');
    }
    for (const action of ['s3:ListBucketMultipartUploads', 's3:ListBucketVersions', 's3:PutBucketPolicy', 's3:PutBucketCors', 's3:DeleteBucket']) {
      expect(await decide(policy, { action, resource: BUCKET_ARN, s3Context: { 's3:prefix': tenantObjectPrefix('t-1') } })).toBe('ImplicitlyDenied');
    }
  });

  it('allows t-1 to list its own prefix, or a case folder under it', async () => {
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': tenantObjectPrefix('t-1') } })).toBe('Allowed');
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': `tenant=t-1/case=${CASE_ID}/` } })).toBe('Allowed');
  });

  it("denies t-1 a listing of t-10's prefix, of a prefix without the slash, and of the whole bucket (no prefix)", async () => {
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': tenantObjectPrefix('t-10') } })).toBe('ImplicitlyDenied');
    // `tenant=t-1` would list t-10's keys too.
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': 'tenant=t-1' } })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': '' } })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN })).toBe('ImplicitlyDenied');
  });

  it("would let t-1 reach and list t-10's objects without the trailing slash — so the strict denials above are meaningful", async () => {
    const loose = withoutSlash(policy);
    expect(await decide(loose, { action: 's3:GetObject', resource: t10Evidence })).toBe('Allowed');
    expect(await decide(loose, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': 'tenant=t-10/' } })).toBe('Allowed');
    expect(await decide(policy, { action: 's3:GetObject', resource: t10Evidence })).toBe('ImplicitlyDenied');
    expect(await decide(policy, { action: 's3:ListBucket', resource: BUCKET_ARN, s3Context: { 's3:prefix': 'tenant=t-10/' } })).toBe('ImplicitlyDenied');
  });
});
