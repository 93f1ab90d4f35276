import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** Sortable, unique ids for cases and notes (26-character Crockford base32). */
export function newId(): string {
  return ulid();
}

const TENANT_SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A tenant id derived from its name plus a random suffix: lowercase `[a-z0-9-]`, never `*`, `?` or
 * `#` (those would break the LeadingKeys fence), at most 40 characters.
 */
export function newTenantId(name: string): string {
  const slug = name
    .normalize('NFKD')
    // NFKD splits "é" into "e" + a combining mark; drop the marks so "Café" becomes "cafe".
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
    .replace(/-+$/g, '');
  const bytes = randomBytes(6);
  let suffix = '';
  for (const byte of bytes) suffix += TENANT_SUFFIX_ALPHABET[byte % TENANT_SUFFIX_ALPHABET.length];
  return slug ? `${slug}-${suffix}` : `t-${suffix}`;
}
