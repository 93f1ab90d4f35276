import { z } from 'zod';

/**
 * Tenant names as people read them. A name is stored in Unicode NFKC with its white space collapsed,
 * and one that holds a character nobody sees — a control, format or other default-ignorable
 * character (zero-width space, bidi override, BOM, variation selector, …) — is refused rather than
 * silently cleaned, so what an operator typed is what is stored. Uniqueness is decided on a
 * *skeleton*: the case-folded name with common look-alikes mapped to one letter, so that "Acme"
 * spelled with a Cyrillic "а" or a Greek "Ο" is the same name as "Acme".
 */

/** Characters that render as nothing, or change how neighbours render, and never belong in a name. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Look-alikes of Latin letters and digits, by the letter they pass for. Cellbook's own short list of
 * the confusions that matter in names typed on common keyboards and pasted from documents (Cyrillic
 * and Greek capitals and small letters, dashes, quotes, digits that pass for letters) — not a copy
 * of Unicode's confusables data, which is far broader.
 */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  a: 'аɑα',
  b: 'Ьь',
  // ς: the final sigma NFKC makes of a lunate sigma ϲ, so a stored name keeps the look-alike.
  c: 'сϲς',
  d: 'ԁ',
  e: 'еҽ',
  g: 'ɡ',
  h: 'һ',
  i: 'іιɩ',
  j: 'јϳ',
  k: 'κ',
  l: 'ӏ1|ǀ',
  n: 'ո',
  o: 'оοσ0',
  p: 'рρ',
  q: 'ԛ',
  s: 'ѕ',
  u: 'υս',
  v: 'νѵ',
  w: 'ԝѡ',
  x: 'хχ',
  y: 'уγ',
  A: 'АΑ',
  B: 'ВΒ',
  C: 'СϹ',
  E: 'ЕΕ',
  H: 'НΗ',
  I: 'ІΙӀ',
  J: 'Ј',
  K: 'КΚ',
  M: 'МΜ',
  N: 'Ν',
  O: 'ОΟ',
  P: 'РΡ',
  S: 'Ѕ',
  T: 'ТΤ',
  X: 'ХΧ',
  Y: 'ҮΥ',
  Z: 'Ζ',
  '-': '‐‑‒–—―−﹣',
  "'": '‘’‚‛′',
  '"': '“”„‟″',
};

const LATIN_OF = new Map<string, string>(
  Object.entries(LOOK_ALIKES).flatMap(([latin, alikes]) => [...alikes].map((alike): [string, string] => [alike, latin])),
);

function unconfuse(text: string): string {
  // NFKC spells a double prime ″ as two primes, and two apostrophes read as a double quote.
  return Array.from(text, (char) => LATIN_OF.get(char) ?? char)
    .join('')
    .replaceAll("''", '"');
}

/** NFKC with runs of white space made one space, trimmed: the form a tenant name is stored in. */
export function canonicalTenantName(name: string): string {
  return name.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

/** True when `name` holds a character that renders as nothing or reorders its neighbours. */
export function hasInvisibleCharacters(name: string): boolean {
  return INVISIBLE.test(name) || INVISIBLE.test(name.normalize('NFKC'));
}

/**
 * The form two names are compared in: two names with the same skeleton are one name. Look-alikes
 * are mapped before and after case folding, since a capital can pass for a letter its small form
 * does not (Cyrillic "В" for "B", but "в" for nothing).
 */
export function tenantNameSkeleton(name: string): string {
  // Folding can make new foldable text ("㎁" is "nA" in NFKC): fold until nothing changes.
  let skeleton = canonicalTenantName(name);
  for (let round = 0; round < 4; round++) {
    const next = canonicalTenantName(unconfuse(unconfuse(skeleton).toLowerCase()));
    if (next === skeleton) break;
    skeleton = next;
  }
  return skeleton;
}

/** A tenant name as `POST /admin/tenants` takes it; the output is the canonical form. */
export const TenantName = z
  .string()
  .refine((name) => !hasInvisibleCharacters(name), 'Name must not contain control, zero-width or other invisible characters')
  .transform(canonicalTenantName)
  .pipe(
    z
      .string()
      .min(2, 'Name must be at least 2 characters')
      .max(100, 'Name must be at most 100 characters')
      .regex(/[\p{L}\p{N}]/u, 'Name must contain a letter or a digit'),
  );
