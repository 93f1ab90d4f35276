import { describe, expect, it } from 'vitest';
import { isAllowed } from './authorizer-policy.js';

const API = 'arn:aws:execute-api:us-east-1:000000000000:abc123';
const GET_CASE = `${API}/local/GET/cases/01HZY3J5V8K2M4N6P8Q0R2S4T6`;
const POST_USERS = `${API}/local/POST/users`;

const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const allow = (Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({ Effect: 'Allow', Action, Resource });
const deny = (Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({ Effect: 'Deny', Action, Resource });

describe('isAllowed', () => {
  it('allows a method the policy allows exactly', () => {
    expect(isAllowed(policy(allow(GET_CASE)), GET_CASE)).toBe(true);
  });

  it('allows every method and path of a stage under arn:…:api/stage/*', () => {
    const stage = policy(allow(`${API}/local/*`));
    expect(isAllowed(stage, GET_CASE)).toBe(true);
    expect(isAllowed(stage, POST_USERS)).toBe(true);
  });

  it('does not let a stage wildcard reach another stage or another API', () => {
    const stage = policy(allow(`${API}/local/*`));
    expect(isAllowed(stage, `${API}/prod/GET/cases`)).toBe(false);
    expect(isAllowed(stage, 'arn:aws:execute-api:us-east-1:000000000000:xyz789/local/GET/cases')).toBe(false);
  });

  it('matches wildcards inside the method ARN (any method on one path)', () => {
    const anyMethod = policy(allow(`${API}/local/*/users`));
    expect(isAllowed(anyMethod, POST_USERS)).toBe(true);
    expect(isAllowed(anyMethod, `${API}/local/GET/users`)).toBe(true);
    expect(isAllowed(anyMethod, `${API}/local/GET/cases`)).toBe(false);
  });

  it('treats "?" as exactly one character', () => {
    expect(isAllowed(policy(allow(`${API}/local/GET/case?`)), `${API}/local/GET/cases`)).toBe(true);
    expect(isAllowed(policy(allow(`${API}/local/GET/case?`)), `${API}/local/GET/case`)).toBe(false);
  });

  it('treats regex characters in the resource literally', () => {
    // "." must not act as "any character".
    expect(isAllowed(policy(allow('arn:aws:execute-api:us-east-1:000000000000:abc123/local/GET/a.c')), `${API}/local/GET/abc`)).toBe(false);
  });

  it('lets an explicit Deny win over an Allow, in either order', () => {
    expect(isAllowed(policy(allow(`${API}/*`), deny(POST_USERS)), POST_USERS)).toBe(false);
    expect(isAllowed(policy(deny(POST_USERS), allow(`${API}/*`)), POST_USERS)).toBe(false);
    // The Deny covers only what it names.
    expect(isAllowed(policy(allow(`${API}/*`), deny(POST_USERS)), GET_CASE)).toBe(true);
  });

  it('lets a wildcard Deny refuse everything under it', () => {
    expect(isAllowed(policy(allow(GET_CASE), deny('*')), GET_CASE)).toBe(false);
  });

  it('denies when there is no statement at all', () => {
    expect(isAllowed({ Version: '2012-10-17', Statement: [] }, GET_CASE)).toBe(false);
    expect(isAllowed({ Version: '2012-10-17' }, GET_CASE)).toBe(false);
    expect(isAllowed(undefined, GET_CASE)).toBe(false);
  });

  it('denies when only a Deny or a non-matching Allow is present', () => {
    expect(isAllowed(policy(deny(POST_USERS)), GET_CASE)).toBe(false);
    expect(isAllowed(policy(allow(POST_USERS)), GET_CASE)).toBe(false);
  });

  it('accepts a single statement object and a single resource string, as authorizers often return', () => {
    expect(isAllowed({ Version: '2012-10-17', Statement: allow(`${API}/local/*`) }, GET_CASE)).toBe(true);
    expect(isAllowed(policy(allow([POST_USERS, GET_CASE])), GET_CASE)).toBe(true);
  });

  it('requires an action that covers execute-api:Invoke', () => {
    expect(isAllowed(policy(allow(GET_CASE, 'execute-api:*')), GET_CASE)).toBe(true);
    expect(isAllowed(policy(allow(GET_CASE, '*')), GET_CASE)).toBe(true);
    expect(isAllowed(policy(allow(GET_CASE, ['s3:GetObject', 'execute-api:Invoke'])), GET_CASE)).toBe(true);
    expect(isAllowed(policy(allow(GET_CASE, 'execute-api:ManageConnections')), GET_CASE)).toBe(false);
    expect(isAllowed(policy(allow(GET_CASE, 's3:*')), GET_CASE)).toBe(false);
  });

  it('ignores an Allow without a resource, or an effect spelled otherwise', () => {
    expect(isAllowed(policy({ Effect: 'Allow', Action: 'execute-api:Invoke' }), GET_CASE)).toBe(false);
    expect(isAllowed(policy({ Effect: 'allow', Action: 'execute-api:Invoke', Resource: '*' }), GET_CASE)).toBe(false);
  });
});
