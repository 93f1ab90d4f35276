import { describe, expect, it } from 'vitest';
import { ITEM_STORAGE_OVERHEAD_BYTES, itemSize, numberSize, storedItemBytes } from './item-size.js';

describe('itemSize, by DynamoDB’s documented rules', () => {
  it('counts a string attribute as its name and value in UTF-8 bytes', () => {
    expect(itemSize({ PK: 'TENANT#t-1' })).toBe(2 + 10);
    // "é" is two bytes, "€" three.
    expect(itemSize({ name: 'é€' })).toBe(4 + 5);
  });

  it('counts a number as one byte per two significant digits, plus one', () => {
    expect(numberSize(12_345)).toBe(4);
    expect(numberSize(1_000_000)).toBe(2);
    expect(numberSize(0.0012)).toBe(2);
    expect(numberSize(-123.45)).toBe(4);
    expect(numberSize(0)).toBe(2);
    expect(itemSize({ activeCases: 12 })).toBe(11 + 2);
  });

  it('counts booleans and nulls as one byte, binaries as their bytes, sets as their elements', () => {
    expect(itemSize({ ok: true, gone: null })).toBe(2 + 1 + 4 + 1);
    expect(itemSize({ blob: new Uint8Array(10) })).toBe(4 + 10);
    expect(itemSize({ tags: new Set(['ab', 'cde']) })).toBe(4 + 5);
  });

  it('adds three bytes for a list or a map, whose keys count as names', () => {
    expect(itemSize({ l: [] })).toBe(1 + 3);
    expect(itemSize({ l: ['ab', 7] })).toBe(1 + 3 + 2 + 2);
    expect(itemSize({ m: { ab: 'cd', n: { x: true } } })).toBe(1 + 3 + (2 + 2) + (1 + 3 + (1 + 1)));
  });

  it('bills storage on the size plus 100 bytes per item', () => {
    expect(ITEM_STORAGE_OVERHEAD_BYTES).toBe(100);
    expect(storedItemBytes({ PK: 'x', SK: 'y' })).toBe(6 + 100);
  });
});
