/**
 * The tenant access policy (DESIGN §3): the second line of defence. Data-plane functions hold no
 * table permissions; they assume the tenant access role with session tag `TenantId=<id>`, and this
 * policy lets that session touch only items whose partition key is `TENANT#<id>` or starts with
 * `TENANT#<id>#`. Used verbatim by the Cell stack and by the local IAM-enforcing DynamoDB endpoint.
 */
export interface TenantAccessPolicyInput {
  /** ARN of the cell's table (a CDK token in the stack, a literal ARN locally). */
  tableArn: string;
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
  ];
}

export function tenantAccessPolicy({ tableArn }: TenantAccessPolicyInput): TenantAccessPolicyDocument {
  const tenant = `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`;
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
