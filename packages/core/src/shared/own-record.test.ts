import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownRecord, ownValue, parseJsonOwn } from './own-record.js';

/** Names an ordinary object answers before any client sent them. */
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype'];

/** Any name a client could send: prototype names, arbitrary text, the empty string. */
const clientName = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string(), fc.string({ unit: 'grapheme' }));

const PROPERTIES = { seed: 12, numRuns: 300 } as const;

describe('ownRecord', () => {
  it('holds a name only when the client sent it, never a name inherited from Object.prototype', () => {
    fc.assert(
      fc.property(fc.uniqueArray(clientName), clientName, (sent, asked) => {
        const record = ownRecord(sent.map((name) => [name, 'v'] as const));
        expect(Object.keys(record).sort()).toEqual([...sent].sort());
        expect(record[asked]).toBe(sent.includes(asked) ? 'v' : undefined);
        expect(asked in record).toBe(sent.includes(asked));
      }),
      PROPERTIES,
    );
  });

  it('starts empty when given nothing: no name at all, inherited or not', () => {
    const record = ownRecord<string>();
    expect(Object.keys(record)).toEqual([]);
    expect(Object.getPrototypeOf(record)).toBeNull();
  });

  it('keeps a sent __proto__ as an ordinary key that changes no prototype', () => {
    const record = ownRecord<unknown>([['__proto__', { polluted: true }]]);
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.keys(record)).toEqual(['__proto__']);
    expect((record as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('lets a multi-value map start a list under any name (the gateway groups repeated names this way)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(clientName, fc.string())), (pairs) => {
        const grouped = ownRecord<string[]>();
        for (const [name, value] of pairs) {
          const values = grouped[name] ?? [];
          values.push(value);
          grouped[name] = values;
        }
        for (const [name] of pairs) expect(grouped[name]).toEqual(pairs.filter(([n]) => n === name).map(([, v]) => v));
      }),
      PROPERTIES,
    );
  });

  it('answers the last value when a name repeats', () => {
    fc.assert(
      fc.property(clientName, fc.string(), fc.string(), (name, first, last) => {
        expect(
          ownRecord([
            [name, first],
            [name, last],
          ])[name],
        ).toBe(last);
      }),
      PROPERTIES,
    );
  });
});

describe('ownValue', () => {
  it('reads a value only from the record itself, even from an ordinary object literal', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), clientName, (plain, asked) => {
        expect(ownValue(plain, asked)).toBe(Object.hasOwn(plain, asked) ? plain[asked] : undefined);
      }),
      PROPERTIES,
    );
    expect(ownValue({ a: 1 }, 'constructor')).toBeUndefined();
    expect(ownValue({ a: 1 }, 'toString')).toBeUndefined();
    expect(ownValue({ a: 1 }, '__proto__')).toBeUndefined();
  });

  it('answers undefined for no record at all', () => {
    expect(ownValue(undefined, 'constructor')).toBeUndefined();
    expect(ownValue(null, 'toString')).toBeUndefined();
  });
});

describe('parseJsonOwn', () => {
  /** JSON whose member names, at any depth, may be prototype names. */
  const hostileJson = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.jsonValue({ maxDepth: 0 }), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(clientName, tie('value'), { maxKeys: 5 }),
  })).value;

  /** Every object (at any depth) has no prototype; each member is an own key. */
  function expectPrototypeFree(value: unknown): void {
    if (Array.isArray(value)) {
      value.forEach(expectPrototypeFree);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    expect(Object.getPrototypeOf(value)).toBeNull();
    for (const name of Object.keys(value)) expectPrototypeFree((value as Record<string, unknown>)[name]);
  }

  it('gives every parsed object, at every depth, only the members the text holds', () => {
    fc.assert(
      fc.property(hostileJson, clientName, (value, asked) => {
        const text = JSON.stringify(value);
        const parsed = parseJsonOwn(text);
        expectPrototypeFree(parsed);
        expect(JSON.stringify(parsed)).toBe(text);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
          expect(Object.hasOwn(parsed, asked) || (parsed as Record<string, unknown>)[asked] === undefined).toBe(true);
        }
      }),
      PROPERTIES,
    );
  });

  it('keeps a "__proto__" member as data and pollutes nothing', () => {
    const parsed = parseJsonOwn('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor']);
    // biome-ignore lint/complexity/useLiteralKeys: the own data member named "__proto__" is what this test reads; `parsed.__proto__` would read the same but noProto forbids it.
    // biome-ignore lint/suspicious/noProto: not the accessor: `parsed` has no prototype, so this is the member the JSON gave.
    expect(parsed['__proto__']).toEqual(Object.assign(Object.create(null), { isAdmin: true }));
    expect((parsed as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
  });

  it('throws SyntaxError for text that is not JSON, as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let native: unknown;
        try {
          JSON.parse(text);
        } catch (error) {
          native = error;
        }
        if (native === undefined) expect(() => parseJsonOwn(text)).not.toThrow();
        else expect(() => parseJsonOwn(text)).toThrow(SyntaxError);
      }),
      PROPERTIES,
    );
  });
});
