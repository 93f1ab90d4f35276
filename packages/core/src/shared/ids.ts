import { createHash, randomBytes } from 'node:crypto';
import { encodeTime, monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** Sortable, unique ids for cases and notes (26-character Crockford base32). */
export function newId(): string {
  return ulid();
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID that is the same every time for the same time and seed: a step that may be retried after
 * a crash (an audit record, say) writes under this id with a condition, so the retry finds its
 * earlier write instead of adding a second one.
 */
export function deterministicId(timeMs: number, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let random = '';
  for (const byte of digest.subarray(0, 16)) random += CROCKFORD[byte % 32];
  return `${encodeTime(timeMs, 10)}${random}`;
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
