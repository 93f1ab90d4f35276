/**
 * EventBridge event-pattern matching for the local event bus: a tested subset of the documented
 * operators (DESIGN §4), implemented here rather than taken from npm. It follows the
 * EventBridge user guide ("Event patterns", "Comparison operators for use in event patterns",
 * "Arrays", "Null values and empty strings") and, where the guide is silent, aws/event-ruler, the
 * engine EventBridge runs. Validation messages reuse Ruler's wording.
 *
 * Supported:
 * - objects: every key of the pattern must match (AND); a key's array lists alternatives (OR);
 *   keys the pattern does not name are ignored.
 * - exact values: strings (case-sensitive, no normalisation), numbers (compared by value, so 300
 *   matches 3.0e2, as Ruler's numeric equality does), `true`, `false`, `null`. `""` matches only the
 *   empty string and `null` only an explicit null: neither matches a missing field or each other.
 * - event arrays: a field whose event value is an array matches when any element matches; nested
 *   arrays are flattened. Arrays of objects are matched element by element, so two keys can only
 *   be satisfied by the same element (Ruler's array-consistent `rulesForJSONEvent`).
 * - `prefix`, `suffix` (string values only), each also as `{ "equals-ignore-case": "…" }`.
 * - `equals-ignore-case`.
 * - `anything-but`: a string, a number, a list of strings or a list of numbers, `{ prefix }`,
 *   `{ suffix }`, `{ equals-ignore-case }` (each a string or a list of strings). A missing field
 *   never matches; a null, a value of another type, or any array element outside the exclusion does.
 * - `exists: true | false`, on leaf values only: a field holding an object (or an empty array)
 *   does not "exist", so `exists: false` matches it (documented behaviour).
 * - `numeric`: `["=", n]`, `["<" | "<=" | ">" | ">=", n]`, and a lower bound followed by an upper
 *   bound (`[">", 0, "<=", 5]`). Operands must lie within ±5e9 with at most six decimals (Ruler's
 *   limits); event values outside ±5e9 never satisfy a numeric comparison.
 * - `$or`: an array of at least two non-empty objects, at any level, combined with sibling keys by AND.
 *
 * Not supported: `wildcard`, `anything-but: { wildcard }`, `cidr`, and Ruler's undocumented
 * `exactly`. `validatePattern` throws `UnsupportedEventPatternError` for them, so a rule that uses
 * one is refused at deployment instead of silently matching the wrong events.
 *
 * Known differences from AWS:
 * - numbers are JavaScript doubles: integers beyond 2^53 lose precision, and event values with more
 *   than six decimals are compared exactly where Ruler would round them away;
 * - keys are matched literally: Ruler's undocumented aliasing of `{"a.b": …}` with `{"a": {"b": …}}`
 *   is not reproduced;
 * - case folding for the `equals-ignore-case` forms uses `String.prototype.toLowerCase`.
 */

/** What AWS itself would reject (EventBridge answers `InvalidEventPatternException`). */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';
  constructor(reason: string, path: readonly string[]) {
    super(`Event pattern is not valid. Reason: ${reason}${path.length > 0 ? ` (at ${path.join('.')})` : ''}`);
  }
}

/** A valid EventBridge pattern that this local matcher cannot evaluate faithfully. */
export class UnsupportedEventPatternError extends Error {
  override readonly name = 'UnsupportedEventPatternError';
  constructor(operator: string, path: readonly string[]) {
    super(
      `The local EventBridge does not evaluate the "${operator}" operator${path.length > 0 ? ` (at ${path.join('.')})` : ''}; ` +
        'express the rule with the operators listed in packages/local/src/aws/eventbridge-pattern.ts or add support there',
    );
  }
}

/** A compiled pattern: validation happens once, matching many times. */
export type EventMatcher = (event: unknown) => boolean;

/** Throws `InvalidEventPatternError` or `UnsupportedEventPatternError` when the pattern cannot be used. */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/** Validates the pattern, then returns a matcher that no longer depends on the pattern object. */
export function compilePattern(pattern: unknown): EventMatcher {
  if (!isObject(pattern)) throw new InvalidEventPatternError('Filter is not an object', []);
  const root = compileObject(pattern, [], false);
  return (event) => matchElements(root, event);
}

/** True when `event` matches `pattern`; throws like `validatePattern` for a pattern it cannot use. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

// The compiled form: the pattern, validated once, as one predicate per field.
type Leaf = string | number | boolean | null;

/** A condition on the leaf values found at one field; an empty list means the field is absent. */
type FieldCondition = (leaves: readonly Leaf[]) => boolean;

interface CompiledObject {
  fields: { key: string; matches: (value: unknown) => boolean }[];
  /** Alternatives from a `$or` at this level, evaluated against the same object. */
  anyOf: CompiledObject[] | undefined;
}

const OR_KEY = '$or';
const FIVE_BILLION = 5e9;
const MAX_DECIMALS = 6;
const UNSUPPORTED_OPERATORS = new Set(['wildcard', 'cidr', 'exactly']);
/** Ruler refuses these as field names inside `$or`, where they would be ambiguous with operators. */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

function compileObject(pattern: Record<string, unknown>, path: string[], insideOr: boolean): CompiledObject {
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new InvalidEventPatternError('Empty objects are not allowed', path);
  const compiled: CompiledObject = { fields: [], anyOf: undefined };
  for (const [key, value] of entries) {
    if (key === OR_KEY) {
      compiled.anyOf = compileOr(value, path);
      continue;
    }
    const fieldPath = [...path, key];
    if (insideOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidEventPatternError(`${key} is Ruler reserved fieldName which cannot be used inside $or.`, fieldPath);
    }
    if (Array.isArray(value)) {
      const conditions = compileConditions(value, fieldPath);
      compiled.fields.push({ key, matches: (eventValue) => conditions.some((condition) => condition(leafValues(eventValue))) });
    } else if (isObject(value)) {
      const nested = compileObject(value, fieldPath, insideOr);
      compiled.fields.push({ key, matches: (eventValue) => matchElements(nested, eventValue) });
    } else {
      throw new InvalidEventPatternError(`"${key}" must be an object or an array`, fieldPath);
    }
  }
  return compiled;
}

function compileOr(value: unknown, path: string[]): CompiledObject[] {
  if (!Array.isArray(value)) throw new InvalidEventPatternError('It must be an Array followed with $or.', path);
  const alternatives = value.map((alternative) => {
    if (!isObject(alternative)) {
      throw new InvalidEventPatternError('Only JSON object is allowed in array of $or relationship.', path);
    }
    return compileObject(alternative, path, true);
  });
  if (alternatives.length < 2) throw new InvalidEventPatternError('There must have at least 2 Objects in $or relationship.', path);
  return alternatives;
}

function compileConditions(values: unknown[], path: string[]): FieldCondition[] {
  if (values.length === 0) throw new InvalidEventPatternError('Empty arrays are not allowed', path);
  return values.map((value): FieldCondition => {
    if (isLeaf(value)) return anyLeaf((leaf) => equalsExactly(leaf, value));
    if (isObject(value)) return compileMatchExpression(value, path);
    throw new InvalidEventPatternError('Match value must be String, number, true, false, or null', path);
  });
}

function compileMatchExpression(expression: Record<string, unknown>, path: string[]): FieldCondition {
  const [operator, operand] = singleEntry(expression, path, 'Match expression name not found');
  if (UNSUPPORTED_OPERATORS.has(operator)) throw new UnsupportedEventPatternError(operator, path);
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const test = compileAffix(operator, operand, path);
      return anyLeaf((leaf) => typeof leaf === 'string' && test(leaf));
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') throw new InvalidEventPatternError('equals-ignore-case match pattern must be a string', path);
      const expected = operand.toLowerCase();
      return anyLeaf((leaf) => typeof leaf === 'string' && leaf.toLowerCase() === expected);
    }
    case 'anything-but': {
      const excluded = compileAnythingBut(operand, path);
      return anyLeaf((leaf) => !excluded(leaf));
    }
    case 'exists': {
      if (typeof operand !== 'boolean') throw new InvalidEventPatternError('exists match pattern must be either true or false.', path);
      return (leaves) => leaves.length > 0 === operand;
    }
    case 'numeric': {
      const inRange = compileNumeric(operand, path);
      return anyLeaf((leaf) => typeof leaf === 'number' && Math.abs(leaf) <= FIVE_BILLION && inRange(leaf));
    }
    default:
      throw new InvalidEventPatternError(`Unrecognized match type ${operator}`, path);
  }
}

/** `{ "prefix": "x" }` or `{ "prefix": { "equals-ignore-case": "x" } }`, and the same for suffix. */
function compileAffix(operator: 'prefix' | 'suffix', operand: unknown, path: string[]): (value: string) => boolean {
  const affixOf = (value: string, affix: string) => (operator === 'prefix' ? value.startsWith(affix) : value.endsWith(affix));
  if (typeof operand === 'string') return (value) => affixOf(value, operand);
  if (isObject(operand)) {
    const [inner, innerOperand] = singleEntry(operand, path, `${operator} match expression name not found`);
    if (inner !== 'equals-ignore-case') throw new InvalidEventPatternError(`Unsupported ${operator} pattern: ${inner}`, path);
    if (typeof innerOperand !== 'string') throw new InvalidEventPatternError('equals-ignore-case match pattern must be a string', path);
    const expected = innerOperand.toLowerCase();
    return (value) => affixOf(value.toLowerCase(), expected);
  }
  throw new InvalidEventPatternError(`${operator} match pattern must be a string`, path);
}

/** Returns the predicate for the *excluded* values. */
function compileAnythingBut(operand: unknown, path: string[]): (leaf: Leaf) => boolean {
  if (typeof operand === 'string') return (leaf) => leaf === operand;
  if (typeof operand === 'number') {
    checkNumberOperand(operand, path);
    return (leaf) => leaf === operand;
  }
  if (Array.isArray(operand)) {
    const allStrings = operand.length > 0 && operand.every((value) => typeof value === 'string');
    const allNumbers = operand.length > 0 && operand.every((value) => typeof value === 'number');
    if (!allStrings && !allNumbers) {
      throw new InvalidEventPatternError('Inside anything but list, either all values are number or string, mixed type is not supported', path);
    }
    if (allNumbers) for (const value of operand as number[]) checkNumberOperand(value, path);
    const excluded = new Set<Leaf>(operand as Leaf[]);
    return (leaf) => excluded.has(leaf);
  }
  if (isObject(operand)) {
    const [inner, innerOperand] = singleEntry(operand, path, 'Anything-But expression name not found');
    if (inner === 'wildcard') throw new UnsupportedEventPatternError('anything-but wildcard', path);
    if (inner !== 'prefix' && inner !== 'suffix' && inner !== 'equals-ignore-case') {
      throw new InvalidEventPatternError(`Unsupported anything-but pattern: ${inner}`, path);
    }
    const operands = typeof innerOperand === 'string' ? [innerOperand] : innerOperand;
    if (!Array.isArray(operands) || operands.length === 0 || !operands.every((value) => typeof value === 'string')) {
      throw new InvalidEventPatternError(
        inner === 'equals-ignore-case'
          ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
          : 'prefix/suffix match pattern must be a string',
        path,
      );
    }
    const strings = operands as string[];
    if (inner === 'equals-ignore-case') {
      const lowered = new Set(strings.map((value) => value.toLowerCase()));
      return (leaf) => typeof leaf === 'string' && lowered.has(leaf.toLowerCase());
    }
    // An empty prefix or suffix would exclude every string, which Ruler refuses outright.
    if (strings.includes('')) throw new InvalidEventPatternError('Null prefix/suffix not allowed', path);
    return inner === 'prefix'
      ? (leaf) => typeof leaf === 'string' && strings.some((prefix) => leaf.startsWith(prefix))
      : (leaf) => typeof leaf === 'string' && strings.some((suffix) => leaf.endsWith(suffix));
  }
  throw new InvalidEventPatternError('Value of anything-but must be an array or single string/number value.', path);
}

function compileNumeric(operand: unknown, path: string[]): (value: number) => boolean {
  if (!Array.isArray(operand)) throw new InvalidEventPatternError('Value of numeric must be an array.', path);
  const [operator, value, upperOperator, upperValue, ...extra] = operand as unknown[];
  if (typeof operator !== 'string') throw new InvalidEventPatternError(`Invalid member in numeric match: ${String(operator ?? ']')}`, path);
  if (!['=', '<', '<=', '>', '>='].includes(operator)) {
    throw new InvalidEventPatternError(`Unrecognized numeric range operator: ${operator}`, path);
  }
  if (typeof value !== 'number') {
    throw new InvalidEventPatternError(`Value of ${operator === '=' ? 'equals' : operator} must be numeric`, path);
  }
  checkNumberOperand(value, path);
  const lower = comparison(operator, value);
  if (operand.length === 2) return lower;
  // Only a lower bound may be followed by an upper bound, as in [">", 0, "<=", 5].
  if (operator !== '>' && operator !== '>=') throw new InvalidEventPatternError('Too many elements in numeric expression', path);
  if (upperOperator !== '<' && upperOperator !== '<=') {
    throw new InvalidEventPatternError(
      typeof upperOperator === 'string' ? `Bad numeric range operator: ${upperOperator}` : `Bad value in numeric range: ${String(upperOperator)}`,
      path,
    );
  }
  if (typeof upperValue !== 'number') throw new InvalidEventPatternError(`Value of ${upperOperator} must be numeric`, path);
  checkNumberOperand(upperValue, path);
  if (extra.length > 0) throw new InvalidEventPatternError('Too many terms in numeric range expression', path);
  if (upperValue <= value) throw new InvalidEventPatternError('Bottom must be less than top', path);
  const upper = comparison(upperOperator, upperValue);
  return (candidate) => lower(candidate) && upper(candidate);
}

function comparison(operator: string, operand: number): (value: number) => boolean {
  switch (operator) {
    case '=':
      return (value) => value === operand;
    case '<':
      return (value) => value < operand;
    case '<=':
      return (value) => value <= operand;
    case '>':
      return (value) => value > operand;
    default:
      return (value) => value >= operand;
  }
}

/** Ruler stores numeric operands as fixed-point numbers: ±5e9 with six decimals. */
function checkNumberOperand(value: number, path: string[]): void {
  if (!Number.isFinite(value) || Math.abs(value) > FIVE_BILLION) {
    throw new InvalidEventPatternError(`Value must be between ${-FIVE_BILLION} and ${FIVE_BILLION}, inclusive`, path);
  }
  if (decimalPlaces(value) > MAX_DECIMALS) throw new InvalidEventPatternError('Only values upto 6 decimals are supported', path);
}

function decimalPlaces(value: number): number {
  const [mantissa = '', exponent = '0'] = value.toString().toLowerCase().split('e');
  const fractionDigits = mantissa.split('.')[1]?.length ?? 0;
  return Math.max(0, fractionDigits - Number(exponent));
}

function singleEntry(expression: Record<string, unknown>, path: string[], emptyMessage: string): [string, unknown] {
  const entries = Object.entries(expression);
  const [first] = entries;
  if (first === undefined) throw new InvalidEventPatternError(emptyMessage, path);
  if (entries.length > 1) throw new InvalidEventPatternError('Only one key allowed in match expression', path);
  return first;
}

/**
 * An object pattern against an event value. An array stands for its elements, each tried on its own
 * so that sibling keys are satisfied by one element; an empty array behaves like a missing field.
 */
function matchElements(pattern: CompiledObject, value: unknown): boolean {
  if (!Array.isArray(value)) return matchObject(pattern, value);
  const elements: unknown[] = value.flat(Infinity);
  if (elements.length === 0) return matchObject(pattern, undefined);
  return elements.some((element) => matchObject(pattern, element));
}

function matchObject(pattern: CompiledObject, value: unknown): boolean {
  const child = (key: string): unknown => (isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined);
  if (!pattern.fields.every((field) => field.matches(child(field.key)))) return false;
  return pattern.anyOf === undefined || pattern.anyOf.some((alternative) => matchObject(alternative, value));
}

/** The values a field holds for matching: scalars, with arrays flattened and objects skipped. */
function leafValues(value: unknown): Leaf[] {
  if (isLeaf(value)) return [value];
  if (!Array.isArray(value)) return [];
  return (value.flat(Infinity) as unknown[]).filter(isLeaf);
}

function anyLeaf(test: (leaf: Leaf) => boolean): FieldCondition {
  return (leaves) => leaves.some(test);
}

/** Type-strict: the string "5" does not match the number 5, nor "true" the literal true. */
function equalsExactly(leaf: Leaf, expected: Leaf): boolean {
  return leaf === expected;
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
