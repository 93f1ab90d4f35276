/**
 * Tenant names as people read them. A name is stored in Unicode NFKC with its white space collapsed,
 * and one that holds a character nobody sees — a control, format or other default-ignorable
 * character (zero-width space, bidi override, BOM, variation selector, …) — is refused rather than
 * silently cleaned, so what an operator typed is what is stored. A word that mixes Latin letters
 * with letters of another script ("Аcme" with a Cyrillic "А", "ꓮlpha" with a Lisu "ꓮ") is refused,
 * as browsers refuse such host names; a name wholly in another script, or with words in different
 * scripts ("Москва Labs"), is a name like any other, and Latin may sit beside Chinese, Japanese or
 * Korean in one word. Uniqueness is decided on a *skeleton*: the case-folded name without accents or
 * other combining marks, with common look-alikes mapped to one letter — so "Acme" in Greek capitals,
 * "GIobal" with a capital I, "Firrn" with "rn" for "m" and "Acme̲" with an underline are all taken
 * once "Acme", "Global" and "Firm" are.
 */
import * as z from 'zod/mini';

/**
 * Characters that render as nothing, or change how neighbours render, and never belong in a name;
 * also the braille blank (U+2800), a symbol that renders as a space but is no white space to NFKC.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;

/**
 * Look-alikes of Latin letters and digits, by the letter they pass for. Cellbook's own short list of
 * the confusions that matter in names typed on common keyboards and pasted from documents (Cyrillic
 * and Greek capitals and small letters, Latin small capitals, Armenian, Lisu and Cherokee letters,
 * dashes, quotes, digits that pass for letters) — not a copy of Unicode's confusables data, which is
 * far broader.
 */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  a: 'аɑαᴀ',
  b: 'Ььʙ',
  // ς: the final sigma NFKC makes of a lunate sigma ϲ, so a stored name keeps the look-alike.
  c: 'сϲςᴄ',
  d: 'ԁᴅ',
  e: 'еҽᴇ',
  f: 'ꜰ',
  g: 'ɡɢ',
  h: 'һʜհ',
  j: 'јϳ',
  k: 'κ',
  // A capital I passes for a small l, and case folding makes a small i one letter with a capital I:
  // all three are one letter in a skeleton (so "Mint" and "Mlnt" are one name, the price of "GIobal").
  l: 'ӏ1|ǀIiıіιɩІΙӀꓲᏆʟᴌ',
  m: 'ᴍ',
  n: 'ոɴ',
  o: 'оοσ0ᴏօ',
  p: 'рρᴘ',
  q: 'ԛꞯ',
  r: 'ʀ',
  s: 'ѕꜱ',
  t: 'ᴛ',
  u: 'υսᴜ',
  v: 'νѵᴠ',
  w: 'ԝѡᴡ',
  x: 'хχ',
  y: 'уγʏ',
  z: 'ᴢ',
  A: 'АΑꓮᎪ',
  B: 'ВΒꓐᏴ',
  C: 'СϹꓚᏟ',
  D: 'ꓓᎠ',
  E: 'ЕΕꓰᎬ',
  F: 'ꓝ',
  G: 'ꓖᏀ',
  H: 'НΗꓧᎻ',
  J: 'ЈꓙᎫ',
  K: 'КΚꓗᏦ',
  L: 'ꓡᏞ',
  M: 'МΜꓟᎷ',
  N: 'Νꓠ',
  O: 'ОΟꓳ',
  P: 'РΡꓑᏢ',
  R: 'ꓣᎡᏒ',
  S: 'ЅꓢᏚ',
  T: 'ТΤꓔᎢ',
  U: 'ꓴ',
  V: 'ꓦᏙ',
  W: 'ꓪᏔ',
  X: 'ХΧꓫ',
  Y: 'ҮΥꓬ',
  Z: 'ΖꓜᏃ',
  '-': '‐‑‒–—―−﹣',
  "'": '‘’‚‛′',
  '"': '“”„‟″',
};

/** Letter pairs that pass for one letter, in a case-folded name. */
const MULTI_LETTER_LOOK_ALIKES: readonly (readonly [RegExp, string])[] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

const LATIN_OF = new Map<string, string>(Object.entries(LOOK_ALIKES).flatMap(([latin, alikes]) => [...alikes].map((alike): [string, string] => [alike, latin])));

function unconfuse(text: string): string {
  // NFKC spells a double prime ″ as two primes, and two apostrophes read as a double quote.
  return Array.from(text, (char) => LATIN_OF.get(char) ?? char)
    .join('')
    .replaceAll("''", '"');
}

/**
 * Combining marks any script may carry (accents, underlines, dots above: Unicode's "Inherited"
 * script), taken off once the name is decomposed; the kana voicing marks stay, since they tell
 * Japanese words apart rather than decorate them.
 */
const INHERITED_MARK = /(?![\u3099\u309a])[\p{Script=Inherited}]/gu;

function withoutMarks(text: string): string {
  return text.normalize('NFD').replace(INHERITED_MARK, '').normalize('NFC');
}

function foldLetterPairs(text: string): string {
  return MULTI_LETTER_LOOK_ALIKES.reduce((folded, [pair, letter]) => folded.replace(pair, letter), text);
}

/** Scripts whose letters may share a word with Latin ones, as in Japanese or Chinese writing. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}]/u;

/**
 * True when one word of `name` (a run of letters, marks and digits) holds Latin letters beside
 * letters of another script other than Chinese, Japanese or Korean ones.
 */
export function mixesScripts(name: string): boolean {
  return (name.normalize('NFKC').match(/[\p{L}\p{M}\p{N}]+/gu) ?? []).some((word) => {
    const letters = Array.from(word).filter((char) => /\p{L}/u.test(char));
    const latin = letters.some((char) => /\p{Script=Latin}/u.test(char));
    return latin && letters.some((char) => !/[\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]/u.test(char) && !CJK.test(char));
  });
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
 * The form two names are compared in: two names with the same skeleton are one name. Accents and
 * other combining marks are dropped; look-alikes are mapped before and after case folding, since a
 * capital can pass for a letter its small form does not (Cyrillic "В" for "B", but "в" for nothing;
 * a capital "I" for "l"); then letter pairs that pass for one letter ("rn", "vv", "cl") are folded.
 */
export function tenantNameSkeleton(name: string): string {
  // Folding can make new foldable text ("㎁" is "nA" in NFKC): fold until nothing changes.
  let skeleton = canonicalTenantName(name);
  for (let round = 0; round < 8; round++) {
    const next = canonicalTenantName(foldLetterPairs(unconfuse(unconfuse(withoutMarks(skeleton)).toLowerCase())));
    if (next === skeleton) break;
    skeleton = next;
  }
  return skeleton;
}

/** A tenant name as `POST /admin/tenants` takes it; the output is the canonical form. */
export const TenantName = z.pipe(
  z.pipe(
    z.string().check(
      z.refine((name) => !hasInvisibleCharacters(name), 'Name must not contain control, zero-width or other invisible characters'),
      z.refine((name) => !mixesScripts(name), 'A word of the name must not mix Latin letters with letters of another script'),
    ),
    z.transform(canonicalTenantName),
  ),
  z
    .string()
    .check(
      z.minLength(2, 'Name must be at least 2 characters'),
      z.maxLength(100, 'Name must be at most 100 characters'),
      z.regex(/[\p{L}\p{N}]/u, 'Name must contain a letter or a digit'),
    ),
);
