import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import * as Keys from '@cellbook/core/keys/keys';
import { TENANT_TAG_KEY } from '@cellbook/core/access/tenant-access-policy';
import { INCOMPLETE_UPLOAD_DAYS } from '../../../stacks/constructs/cell-bucket.js';
import type { InfraFixture } from '../support/app.js';
import { decide, type AccessRequest, type Decision, type RoleUnderTest } from '../support/iam.js';

/**
 * The S3 half of the tenant fence (DESIGN §11), proven on the synthesized templates with intrinsics
 * resolved and an independent IAM simulator: a tenant session reaches its own `tenant=<id>/` prefix
 * of its cell's evidence bucket and nothing else; no other role of the app reaches any evidence
 * bucket at all. A presigned URL carries its signer's session, so "a URL signed by t-1 for t-10's
 * key" is the request of a t-1 session for t-10's key, refused below like any other.
 */
const CASE_ID = '01HZY3J7Q8X2M4N6P8R0S2T4V6';
const EVIDENCE_ID = '01HZY3M1B2C3D4E5F6G7H8J9KA';
const EXPORT_ID = '01HZY3N1B2C3D4E5F6G7H8J9KB';

/** Every object action the tenant fence allows on the tenant's own keys. */
const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
/** Object and bucket actions nobody but a tenant session should hold on an evidence bucket (and it only the first ones). */
const EVERY_OBJECT_ACTION = [
  ...OBJECT_ACTIONS,
  's3:GetObjectVersion',
  's3:DeleteObjectVersion',
  's3:PutObjectAcl',
  's3:GetObjectAcl',
  's3:PutObjectTagging',
  's3:RestoreObject',
];
const BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:PutBucketPolicy',
  's3:DeleteBucket',
  's3:PutBucketCORS',
  's3:PutLifecycleConfiguration',
];

const tagged = (tenantId: string) => ({ [TENANT_TAG_KEY]: tenantId });
const ownKeys = (tenantId: string) => [Keys.evidenceObjectKey(tenantId, CASE_ID, EVIDENCE_ID), Keys.exportObjectKey(tenantId, EXPORT_ID)];

let infra: InfraFixture;

async function mismatches(role: RoleUnderTest, requests: AccessRequest[], expected: 'Allowed' | 'Denied', sessionTags: Record<string, string> = {}): Promise<string[]> {
  const wrong: string[] = [];
  for (const request of requests) {
    const decision: Decision = await decide(infra.resolver, role, request, sessionTags);
    const ok = expected === 'Allowed' ? decision === 'Allowed' : decision !== 'Allowed';
    if (!ok) wrong.push(`${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})} → ${decision}`);
  }
  return wrong;
}

export function evidenceSuite(fixture: () => InfraFixture): void {
  beforeAll(() => {
    infra = fixture();
  });

  describe.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))('the evidence bucket of %s', (cellId) => {
    const stack = () => infra.cells.get(cellId)!;
    let bucket: string;
    let tenantRole: RoleUnderTest;
    const objects = (keys: string[]) => keys.map((key) => `${bucket}/${key}`);
    const list = (prefix?: string): AccessRequest => ({ action: 's3:ListBucket', resource: bucket, ...(prefix === undefined ? {} : { context: { 's3:prefix': prefix } }) });

    beforeAll(() => {
      bucket = infra.arn(stack(), `${cellId}-evidence`);
      tenantRole = infra.role(stack(), 'TenantAccessRole');
    });

    it('lets a t-1 session read, write and delete its own evidence and export objects, and list its own prefix', async () => {
      const requests = [
        ...OBJECT_ACTIONS.flatMap((action) => objects(ownKeys('t-1')).map((resource) => ({ action, resource }))),
        list(Keys.tenantObjectPrefix('t-1')),
        list(Keys.caseObjectPrefix('t-1', CASE_ID)),
      ];
      expect(await mismatches(tenantRole, requests, 'Allowed', tagged('t-1'))).toEqual([]);
    });

    it.each([
      { other: 't-2', what: "every object of t-2's prefix" },
      { other: 't-10', what: "the objects of t-10: the / after the tenant id is what keeps them apart (also a URL t-1's session presigned for them)" },
    ])('denies a t-1 session $what', async ({ other }) => {
      const requests = [...EVERY_OBJECT_ACTION.flatMap((action) => objects(ownKeys(other)).map((resource) => ({ action, resource }))), list(Keys.tenantObjectPrefix(other))];
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it('denies a t-1 session a listing of the whole bucket, of a prefix that would cover t-10, or of no tenant', async () => {
      const requests = [list(), list(''), list('tenant=t-1'), list('tenant='), list('tenant=t-1*')];
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it('denies a session without a TenantId tag every object and listing', async () => {
      const requests = [...OBJECT_ACTIONS.flatMap((action) => objects([...ownKeys('t-1'), 'tenant=/x']).map((resource) => ({ action, resource }))), list('tenant=/'), list()];
      expect(await mismatches(tenantRole, requests, 'Denied')).toEqual([]);
    });

    it('denies a t-1 session versions, ACLs, tagging and bucket management, even on its own prefix', async () => {
      const own = objects(ownKeys('t-1'));
      const requests = [
        ...EVERY_OBJECT_ACTION.filter((action) => !OBJECT_ACTIONS.includes(action)).flatMap((action) => own.map((resource) => ({ action, resource }))),
        ...BUCKET_ACTIONS.filter((action) => action !== 's3:ListBucket').map((action) => ({
          action,
          resource: bucket,
          context: { 's3:prefix': Keys.tenantObjectPrefix('t-1') },
        })),
      ];
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it("reaches no other cell's evidence bucket, even its own tenant's prefix there", async () => {
      const others = [...infra.cells.entries()].filter(([id]) => id !== cellId);
      expect(others.length).toBeGreaterThan(0);
      const requests = others.flatMap(([otherId, otherStack]) => {
        const otherBucket = infra.arn(otherStack, `${otherId}-evidence`);
        return [
          ...OBJECT_ACTIONS.flatMap((action) => ownKeys('t-1').map((key) => ({ action, resource: `${otherBucket}/${key}` }))),
          { action: 's3:ListBucket', resource: otherBucket, context: { 's3:prefix': Keys.tenantObjectPrefix('t-1') } },
        ];
      });
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it('is private, encrypted, TLS-only, unversioned (offboarding leaves zero objects), and drops abandoned uploads', () => {
      const [resource, ...more] = infra.resources(stack(), 'AWS::S3::Bucket');
      expect(more).toEqual([]);
      const properties = resource!.properties;
      expect(properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
      expect(properties.VersioningConfiguration).toBeUndefined();
      expect(properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(properties.LifecycleConfiguration).toEqual({
        Rules: [{ Id: 'abort-incomplete-multipart-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: INCOMPLETE_UPLOAD_DAYS }, Status: 'Enabled' }],
      });
      // No CORS rule of the cell's own: the Router stack owns it (one writer; see the router suite).
      expect(properties.CorsConfiguration).toBeUndefined();
      const [policy] = infra.resources(stack(), 'AWS::S3::BucketPolicy');
      // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document read field by field, where a missing field fails the assertion anyway.
      const statements = (policy!.properties.PolicyDocument as { Statement: Record<string, any>[] }).Statement;
      expect(statements).toEqual([
        {
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: [bucket, `${bucket}/*`],
        },
      ]);
    });

    it("is retained with the stack's data outside throwaway stages, like the table", () => {
      const template = infra.json(stack());
      const bucketId = infra.logicalId(infra.construct(stack(), `${cellId}-evidence`));
      const tableId = infra.logicalId(infra.construct(stack(), `${cellId}/Table`));
      expect(template.Resources[bucketId]!.DeletionPolicy).toBe(template.Resources[tableId]!.DeletionPolicy);
      expect(template.Resources[bucketId]!.DeletionPolicy).toBe('Retain');
    });

    it('is named to every API function of the cell as EVIDENCE_BUCKET', () => {
      const bucketName = infra.ref(stack(), `${cellId}-evidence`);
      const functions = infra
        .resources(stack(), 'AWS::Lambda::Function')
        .filter((fn) => (fn.properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.TABLE_NAME);
      expect(functions.length).toBeGreaterThan(3);
      for (const fn of functions) expect((fn.properties.Environment as { Variables: Record<string, string> }).Variables.EVIDENCE_BUCKET, fn.logicalId).toBe(bucketName);
    });
  });

  describe('the evidence buckets of all cells', () => {
    // Thousands of simulations (every role of the app, every bucket): given the time a loaded machine needs.
    it('are reachable by no role of the app but the cells’ tenant access roles: no function role, tagged or not', { timeout: 180_000 }, async () => {
      const buckets = [...infra.cells.entries()].map(([id, stack]) => infra.arn(stack, `${id}-evidence`));
      // Reading, writing and deleting an object, and listing with or without a prefix: what reaching tenant data takes.
      const requests = buckets.flatMap((bucket) => [
        ...['s3:GetObject', 's3:PutObject', 's3:DeleteObject'].map((action) => ({ action, resource: `${bucket}/${Keys.evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID)}` })),
        { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': Keys.tenantObjectPrefix('t-1') } },
        { action: 's3:ListBucket', resource: bucket },
      ]);
      const tenantRoles = new Set([...infra.cells.values()].map((stack) => infra.arn(stack, 'TenantAccessRole')));
      const others = infra.roles.filter((role) => !tenantRoles.has(role.arn));
      // Every cell's API, authorizer, public route and registrar roles, every control identity, SST's handlers…
      expect(others.length).toBeGreaterThan(20);
      for (const role of others) {
        expect(await mismatches(role, requests, 'Denied'), `${role.stack}/${role.logicalId}`).toEqual([]);
        expect(await mismatches(role, requests, 'Denied', tagged('t-1')), `${role.stack}/${role.logicalId} tagged`).toEqual([]);
      }
    });
  });
}
