/** The pool's users as stored: their records, the table that finds them by name, and how ListUsers filters and pages them. */
import { parseJsonText, type JsonObject } from '../json-protocol.js';
import type { PasswordHash } from './passwords.js';
import { CognitoError } from './protocol.js';

export type UserStatus = 'FORCE_CHANGE_PASSWORD' | 'CONFIRMED';

export interface UserRecord {
  username: string;
  sub: string;
  /** Every attribute except `sub`, which is immutable and kept apart. */
  attributes: Map<string, string>;
  groups: Set<string>;
  password: PasswordHash;
  status: UserStatus;
  enabled: boolean;
  createdAt: number;
  lastModifiedAt: number;
  /** Set while the password is temporary; it expires after temporaryPasswordValidityDays. */
  temporaryPasswordSetAt: number | undefined;
}

/** Users by username; case-insensitive pools look names up by their lower-case form. */
export class UserTable {
  private readonly byKey = new Map<string, UserRecord>();
  constructor(private readonly caseSensitive: boolean) {}
  key(username: string): string {
    return this.caseSensitive ? username : username.toLowerCase();
  }
  get(username: string): UserRecord | undefined {
    return this.byKey.get(this.key(username));
  }
  has(username: string): boolean {
    return this.byKey.has(this.key(username));
  }
  add(user: UserRecord): void {
    this.byKey.set(this.key(user.username), user);
  }
  delete(username: string): void {
    this.byKey.delete(this.key(username));
  }
  values(): IterableIterator<UserRecord> {
    return this.byKey.values();
  }
}

export const STANDARD_ATTRIBUTES = new Set([
  'address',
  'birthdate',
  'email',
  'email_verified',
  'family_name',
  'gender',
  'given_name',
  'locale',
  'middle_name',
  'name',
  'nickname',
  'phone_number',
  'phone_number_verified',
  'picture',
  'preferred_username',
  'profile',
  'updated_at',
  'website',
  'zoneinfo',
]);

/** ListUsers can filter on these attributes only (Cognito does not index custom attributes). */
const FILTERABLE_ATTRIBUTES = new Set([
  'username',
  'email',
  'phone_number',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'cognito:user_status',
  'status',
  'sub',
]);

export function attributeList(user: UserRecord, only?: Set<string>) {
  return [['sub', user.sub] as const, ...user.attributes].filter(([name]) => only === undefined || only.has(name)).map(([Name, Value]) => ({ Name, Value }));
}

/** ID tokens carry the user's attributes; the *_verified flags are booleans there. */
export function idTokenAttributes(user: UserRecord): JsonObject {
  const claims: JsonObject = {};
  for (const [name, value] of user.attributes) {
    claims[name] = name.endsWith('_verified') ? value === 'true' : value;
  }
  return claims;
}

export function parseFilter(filter: string | undefined): (user: UserRecord) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const match = /^\s*([A-Za-z_:]+)\s*(\^?=)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(filter);
  const [, attribute, operator, rawValue] = match ?? [];
  if (attribute === undefined || rawValue === undefined || !FILTERABLE_ATTRIBUTES.has(attribute)) {
    throw new CognitoError('InvalidParameterException', 'Error while parsing filter.');
  }
  const value = rawValue.replace(/\\(.)/g, '$1');
  const read = (user: UserRecord): string | undefined => {
    switch (attribute) {
      case 'username':
        return user.username;
      case 'sub':
        return user.sub;
      case 'cognito:user_status':
        return user.status;
      case 'status':
        return user.enabled ? 'Enabled' : 'Disabled';
      default:
        return user.attributes.get(attribute);
    }
  };
  return (user) => {
    const actual = read(user);
    if (actual === undefined) return false;
    return operator === '=' ? actual === value : actual.startsWith(value);
  };
}

export function encodePaginationToken(afterUsername: string): string {
  return Buffer.from(JSON.stringify({ after: afterUsername })).toString('base64url');
}

export function decodePaginationToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const parsed: unknown = parseJsonText(Buffer.from(token, 'base64url').toString('utf8'));
  const after = typeof parsed === 'object' && parsed !== null ? (parsed as { after?: unknown }).after : undefined;
  if (typeof after !== 'string') throw new CognitoError('InvalidParameterException', 'Invalid pagination token.');
  return after;
}
