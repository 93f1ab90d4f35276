/**
 * The tenant access policy (DESIGN §3, §11): the second line of defence. Data-plane functions hold
 * no table or bucket permissions; they assume the tenant access role with session tag
 * `TenantId=<id>`, and this policy lets that session touch only items whose partition key is
 * `TENANT#<id>` or starts with `TENANT#<id>#`, and only objects under `tenant=<id>/` in the cell's
 * evidence bucket. Used verbatim by the Cell stack and by the local IAM-enforcing endpoints.
 */
export interface TenantAccessPolicyInput {
  /** ARN of the cell's table (a CDK token in the stack, a literal ARN locally). */
  tableArn: string;
  /** ARN of the cell's evidence bucket (`arn:aws:s3:::<name>`; a CDK token in the stack). */
  bucketArn: string;
}

export const TENANT_TAG_KEY = 'TenantId';

/** Item-level actions only: no Scan, no table management, no streams. */
export const TENANT_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * Object actions only, on the tenant's own keys: read, write and delete a file, and clean up a
 * multipart upload of its own. No bucket configuration, ACLs, tagging, versions or listing of
 * uploads — and listing objects is a separate, prefix-conditioned statement.
 */
export const TENANT_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] as const;

export interface TenantAccessPolicyDocument {
  Version: '2012-10-17';
  Statement: [
    {
      Sid: 'TenantItemsOnly';
      Effect: 'Allow';
      Action: string[];
      Resource: string[];
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string[] };
        Null: { 'dynamodb:LeadingKeys': 'false' };
      };
    },
    {
      Sid: 'TenantObjectsOnly';
      Effect: 'Allow';
      Action: string[];
      Resource: string;
    },
    {
      Sid: 'ListTenantPrefixOnly';
      Effect: 'Allow';
      Action: 's3:ListBucket';
      Resource: string;
      Condition: { StringLike: { 's3:prefix': string[] } };
    },
  ];
}

export function tenantAccessPolicy({ tableArn, bucketArn }: TenantAccessPolicyInput): TenantAccessPolicyDocument {
  const tenant = `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`;
  // The `/` after the tenant id is the S3 counterpart of the `#` above: `tenant=t-1/*` never
  // covers `tenant=t-10/…`. (Keys come from keys.ts `tenantObjectPrefix`.)
  const ownPrefix = `tenant=${tenant}/`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TenantItemsOnly',
        Effect: 'Allow',
        Action: [...TENANT_ITEM_ACTIONS],
        Resource: [tableArn, `${tableArn}/index/*`],
        Condition: {
          // ForAllValues: every key in a batch must be the caller's. The exact value and the `#`
          // after the tenant id are both needed so that `t-1` cannot match `t-10`.
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`TENANT#${tenant}`, `TENANT#${tenant}#*`] },
          // ForAllValues is vacuously true when the key is absent (Scan); require its presence.
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
      {
        Sid: 'TenantObjectsOnly',
        Effect: 'Allow',
        Action: [...TENANT_OBJECT_ACTIONS],
        // Single values as IAM (and CDK) write them, so the deployed document is this one verbatim.
        Resource: `${bucketArn}/${ownPrefix}*`,
      },
      {
        Sid: 'ListTenantPrefixOnly',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        // Only a listing that names the tenant's own prefix: a listing without a prefix (the whole
        // bucket) has no `s3:prefix`, and StringLike on an absent key does not match.
        Condition: { StringLike: { 's3:prefix': [`${ownPrefix}*`] } },
      },
    ],
  };
}

/**
 * Who may open a tenant session, and how (DESIGN §3): the session must carry exactly one tag, the
 * tenant id, and it must not be empty. A session without it, with an empty one, or with any other
 * tag is refused by the trust policy itself, whatever the caller's own permissions.
 */
export interface TenantSessionConditions {
  StringLike: Record<string, string>;
  'ForAllValues:StringEquals': { 'aws:TagKeys': string[] };
}

export function tenantSessionConditions(): TenantSessionConditions {
  return {
    // `?*`: at least one character, so an empty tenant id is refused.
    StringLike: { [`aws:RequestTag/${TENANT_TAG_KEY}`]: '?*' },
    // No tag but the tenant's.
    'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_TAG_KEY] },
  };
}

export interface TenantAccessTrustPolicyDocument {
  Version: '2012-10-17';
  Statement: [
    {
      Effect: 'Allow';
      Principal: { AWS: string[] };
      Action: ['sts:AssumeRole', 'sts:TagSession'];
      Condition: TenantSessionConditions;
    },
  ];
}

/**
 * The tenant access role's trust policy: these principals, tenant sessions only. Local mode uses
 * the document as is; the Cell stack builds the same statement from `tenantSessionConditions()`
 * (CDK names the principals), and the stack proofs compare the two.
 */
export function tenantAccessTrustPolicy({ principalArns }: { principalArns: string[] }): TenantAccessTrustPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principalArns },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: tenantSessionConditions(),
      },
    ],
  };
}
