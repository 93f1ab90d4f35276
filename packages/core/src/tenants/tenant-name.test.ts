import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTenantName, hasInvisibleCharacters, mixesScripts, TenantName, tenantNameSkeleton } from './tenant-name.js';

describe('TenantName', () => {
  it('stores the name in NFKC with its white space collapsed', () => {
    expect(TenantName.parse('  Ａｃｍｅ\u00a0\u3000Corp  ')).toBe('Acme Corp');
    expect(TenantName.parse('Cafe\u0301 Ltd')).toBe('Café Ltd');
  });

  it.each([
    ['a zero-width space', 'Acme\u200bCorp'],
    ['a zero-width joiner', 'Ac\u200dme'],
    ['a byte-order mark', '\ufeffAcme'],
    ['a right-to-left override', 'Acme\u202eproC'],
    ['a bidi isolate', 'Acme\u2066Corp\u2069'],
    ['a soft hyphen', 'Ac\u00adme'],
    ['a variation selector', 'Acme\ufe0f'],
    ['a Hangul filler (blank)', 'Acme\u3164'],
    ['a tab', 'Acme\tCorp'],
    ['a newline', 'Acme\nCorp'],
    ['a NUL', 'Acme\u0000'],
    ['a line separator', 'Acme\u2028Corp'],
    ['a private-use character', 'Acme\ue000'],
    ['a lone surrogate', 'Acme\ud800'],
  ])('refuses a name with %s, and says why', (_label, name) => {
    const result = TenantName.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toContain('Name must not contain control, zero-width or other invisible characters');
  });

  it.each([
    ['one character', 'A', 'Name must be at least 2 characters'],
    ['white space only', ' \u3000 ', 'Name must be at least 2 characters'],
    ['punctuation only', '--', 'Name must contain a letter or a digit'],
    ['over 100 characters once normalised', 'x'.repeat(101), 'Name must be at most 100 characters'],
  ])('refuses %s, and says why', (_label, name, why) => {
    const result = TenantName.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toContain(why);
  });

  it('accepts names in any script, and words in different scripts side by side', () => {
    for (const name of ['Société Générale', 'Ωμέγα Labs', 'Москва Тех', 'Москва Labs', '東京 Systems', 'Tokyo東京', 'ソニーPlus', 'O’Neil & Sons', 'Ꮳ Ꭺ']) {
      expect(TenantName.safeParse(name).success, name).toBe(true);
    }
  });

  it.each([
    ['a Cyrillic "о" among Latin letters', 'Acme Tоols'],
    ['a Greek capital Alpha before Latin letters', 'Αcme'],
    ['a Greek Omega before Latin letters', 'Ωmega Labs'],
    ['an Armenian "օ" among Latin letters', 'Acme Nօvօ'],
    ['a Lisu "ꓮ" before Latin letters', 'ꓮlpha Team'],
    ['a Cherokee "Ꭺ" before Latin letters', 'Ꭺlpha Crew'],
    ['a Cyrillic letter after a hyphen-joined Latin word', 'Acme-Сorp'],
  ])('refuses a word that mixes Latin letters with %s, saying why', (_label, name) => {
    const result = TenantName.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('A word of the name must not mix Latin letters with letters of another script');
    expect(mixesScripts(name)).toBe(true);
  });
});

describe('tenantNameSkeleton', () => {
  const same = (a: string, b: string) => expect(tenantNameSkeleton(a), `${a} vs ${b}`).toBe(tenantNameSkeleton(b));

  it('makes names that differ only in case, width or spacing one name', () => {
    same('Acme Corp', 'ACME  corp');
    same('Acme Corp', 'Ａｃｍｅ Ｃｏｒｐ');
    same('nA Labs', '\u3381 Labs'); // one character whose compatibility form is "nA"
  });

  it('makes Cyrillic and Greek look-alikes of Latin letters one name with the Latin spelling', () => {
    same('Acme', 'Аcme'); // Cyrillic capital A
    same('acme', '\u0430\u0441m\u0435'); // Cyrillic а, с, е
    same('Boston', 'Вoston'); // Cyrillic capital Ve passes for B
    same('Acme Co', 'Acme Cо'); // Cyrillic small o
    same('OPTIMA', 'ΟΡΤΙΜΑ'); // all Greek capitals
    same('Paypal', 'Рaypal');
    same('example', '\u0435\u0445\u0430m\u0440l\u0435'); // Cyrillic е, х, а, р
  });

  it('makes a capital I that passes for an l one name with it, keeping case folding', () => {
    same('Global Tools', 'GIobal Tools');
    same('IRIS', 'iris');
    same('Iris', 'lris');
  });

  it('makes letter pairs that pass for one letter one name with it', () => {
    same('Firm Works', 'Firrn Works');
    same('Wave Crew', 'VVave Crew');
    same('Dear Co', 'Clear Co');
  });

  it('makes small capitals and Armenian, Lisu and Cherokee look-alikes one name with the Latin spelling', () => {
    same('Delta Crew', 'Deᴌta Crew'); // small capital L with stroke
    same('Acme Works', 'ᴀᴄᴍᴇ Works');
    same('Acme Novo', 'Acme Nօvօ'); // Armenian օ
    same('Alpha Team', 'ꓮlpha Team'); // Lisu ꓮ
    same('Alpha Crew', 'Ꭺlpha Crew'); // Cherokee Ꭺ
  });

  it('makes names that differ only by accents or other combining marks one name', () => {
    same('Acme Works', 'Acme\u0332 Works'); // combining low line
    same('Acme Works', 'Acme\u0307 Works'); // combining dot above
    same('Cafe', 'Café');
    same('Societe Generale', 'Société Générale');
  });

  it('makes dashes, quotes and digits that pass for letters one name', () => {
    same('Acme-Works', 'Acme–Works');
    same("O'Neil", 'O’Neil');
    same('Google', 'G00gle');
    same('Apple', 'App1e');
  });

  // Cellbook's list of look-alikes, by the Latin letter or sign each one passes for: every one of them,
  // typed in place of its letter, is the same name. (The capital lunate sigma Ϲ is not here: NFKC stores
  // it as Σ, which no longer passes for a C.)
  const LOOK_ALIKES: [string, string][] = [
    ['a', 'аɑα'],
    ['b', 'Ьь'],
    ['c', 'сϲς'],
    ['d', 'ԁ'],
    ['e', 'еҽ'],
    ['g', 'ɡ'],
    ['h', 'һ'],
    ['i', 'іιɩ'],
    ['j', 'јϳ'],
    ['k', 'κ'],
    ['l', 'ӏ1|ǀ'],
    ['n', 'ո'],
    ['o', 'оοσ0'],
    ['p', 'рρ'],
    ['q', 'ԛ'],
    ['s', 'ѕ'],
    ['u', 'υս'],
    ['v', 'νѵ'],
    ['w', 'ԝѡ'],
    ['x', 'хχ'],
    ['y', 'уγ'],
    ['A', 'АΑ'],
    ['B', 'ВΒ'],
    ['C', 'С'],
    ['E', 'ЕΕ'],
    ['H', 'НΗ'],
    ['I', 'ІΙӀ'],
    ['J', 'Ј'],
    ['K', 'КΚ'],
    ['M', 'МΜ'],
    ['N', 'Ν'],
    ['O', 'ОΟ'],
    ['P', 'РΡ'],
    ['S', 'Ѕ'],
    ['T', 'ТΤ'],
    ['X', 'ХΧ'],
    ['Y', 'ҮΥ'],
    ['Z', 'Ζ'],
    ['-', '‐‑‒–—―−﹣'],
    ["'", '‘’‚‛′'],
    ['"', '“”„‟″'],
  ];

  it.each(LOOK_ALIKES)('makes each look-alike of "%s" (%s) one name with it', (latin, alikes) => {
    for (const alike of alikes) same(`Tenant ${latin}9`, `Tenant ${alike}9`);
  });

  it('keeps names that read differently apart', () => {
    const pairs: [string, string][] = [
      ['Acme', 'Acne'],
      ['がっこう', 'かっこう'], // kana voicing marks tell words apart
      ['Москва', 'Moskva'],
      ['Acme Corp', 'AcmeCorp'],
    ];
    for (const [a, b] of pairs) {
      expect(tenantNameSkeleton(a), `${a} vs ${b}`).not.toBe(tenantNameSkeleton(b));
    }
  });

  it('is idempotent, and the canonical form keeps the skeleton', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (name) => {
        const skeleton = tenantNameSkeleton(name);
        expect(tenantNameSkeleton(skeleton)).toBe(skeleton);
        expect(tenantNameSkeleton(canonicalTenantName(name))).toBe(skeleton);
      }),
    );
  });

  it('finds every character the name refuses, wherever it is', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u202e', '\u061c', '\u180e'),
        fc.nat(),
        (text, invisible, at) => {
          const index = at % (text.length + 1);
          expect(hasInvisibleCharacters(text.slice(0, index) + invisible + text.slice(index))).toBe(true);
        },
      ),
    );
  });
});
