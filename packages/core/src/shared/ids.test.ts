import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { newId, newTenantId } from './ids.js';
import { isTenantId, isUlid } from '../keys/keys.js';

describe('newTenantId', () => {
  it.each([
    ['a plain name', 'Acme Corp'],
    ['accented letters', 'Ünïcödé Café Société'],
    ['fullwidth letters', 'Ａｃｍｅ　Ｌｔｄ'],
    ['a ligature and the Kelvin sign', 'ﬁnance K'],
    ['a dotted capital I', 'İstanbul Şirketi'],
    ['German sharp s', 'Straße GmbH'],
    ['Cyrillic only', 'Рога и копыта'],
    ['CJK only', '株式会社'],
    ['emoji only', '🚀🔥💼'],
    ['emoji around words', '🚀 Rocket 🔥 Labs 💼'],
    ['only punctuation', '!!!???***###'],
    ['the fence characters', 'a*b?c#d'],
    ['only hyphens', '-----'],
    ['leading and trailing hyphens', '--acme--'],
    ['whitespace only', ' \t\n '],
    ['an empty name', ''],
    ['a very long name', 'Extraordinarily Long Company Name Incorporated '.repeat(20)],
    ['a name cut at a hyphen', `${'a'.repeat(23)}-${'b'.repeat(10)}`],
    ['digits', '1234567890 Holdings'],
    ['a NUL and control characters', 'acme\u0000\u0007corp'],
  ])('yields a valid tenant id for %s', (_label, name) => {
    for (let i = 0; i < 20; i++) {
      const id = newTenantId(name);
      expect(isTenantId(id), `${JSON.stringify(name)} → ${JSON.stringify(id)}`).toBe(true);
      expect(id).not.toMatch(/[*?#]/);
    }
  });

  it('keeps a readable slug of the name', () => {
    expect(newTenantId('Acme Corp')).toMatch(/^acme-corp-[a-z0-9]{6}$/);
    expect(newTenantId('  ACME -- Corp!! ')).toMatch(/^acme-corp-[a-z0-9]{6}$/);
  });

  it("folds accented letters to plain ones instead of splitting the word ('Café Müller' → cafe-muller-…)", () => {
    // NFKD turns é into e + U+0301; the combining mark must be dropped, not replaced by a hyphen.
    expect(newTenantId('Café Müller')).toMatch(/^cafe-muller-[a-z0-9]{6}$/);
    expect(newTenantId('Société Générale')).toMatch(/^societe-generale-[a-z0-9]{6}$/);
  });

  it('falls back to t-<suffix> when nothing of the name is usable', () => {
    expect(newTenantId('🚀🔥')).toMatch(/^t-[a-z0-9]{6}$/);
    expect(newTenantId('')).toMatch(/^t-[a-z0-9]{6}$/);
  });

  it('stays within 40 characters for a very long name', () => {
    expect(newTenantId('x'.repeat(1_000)).length).toBeLessThanOrEqual(40);
  });

  it('gives two tenants with the same name different ids', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newTenantId('Acme')));
    expect(ids.size).toBe(200);
  });
});

describe('newId', () => {
  it('returns a canonical ULID stamped with the current time', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(isUlid(id)).toBe(true);
    expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(id)).toBeLessThanOrEqual(after);
  });

  it('is strictly increasing even for many ids in the same millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
