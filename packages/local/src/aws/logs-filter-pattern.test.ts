import { describe, expect, it } from 'vitest';
import { compileFilterPattern } from './logs-filter-pattern.js';

describe('compileFilterPattern', () => {
  it('matches every event with the empty pattern', () => {
    const matches = compileFilterPattern('');
    for (const message of ['', 'text', '{"a":1}']) expect(matches(message)).toBe(true);
  });

  it('matches JSON events whose property equals the string, and nothing else', () => {
    const matches = compileFilterPattern('{ $.type = "cellbook.usage" }');
    expect(matches('{"type":"cellbook.usage","usage":{}}')).toBe(true);
    expect(matches('{"type":"cellbook.usagex"}')).toBe(false);
    expect(matches('{"type":["cellbook.usage"]}')).toBe(false);
    expect(matches('{"other":"cellbook.usage"}')).toBe(false);
    expect(matches('type cellbook.usage')).toBe(false);
    expect(matches('"cellbook.usage"')).toBe(false);
  });

  it('follows a property path, own properties only', () => {
    const matches = compileFilterPattern('{$.a.b = "x"}');
    expect(matches('{"a":{"b":"x"}}')).toBe(true);
    expect(matches('{"a":{"c":"x"}}')).toBe(false);
    expect(compileFilterPattern('{ $.constructor = "x" }')('{}')).toBe(false);
  });

  it('refuses patterns outside the supported subset instead of guessing', () => {
    for (const pattern of ['ERROR', '{ $.status > 500 }', '{ $.a = "x" && $.b = "y" }', '[ip, user]']) {
      expect(() => compileFilterPattern(pattern), pattern).toThrow(/unsupported/);
    }
  });
});
