/**
 * The size of a DynamoDB item by DynamoDB's documented rules ("Item sizes and formats"): each
 * attribute is its name's UTF-8 bytes plus its value's — a string its UTF-8 bytes, a binary its
 * bytes, a number one byte per two significant digits plus one, a boolean or null one byte, a
 * list or map three bytes plus its elements (a map's keys counted as names), a set the sum of its
 * elements. Storage is billed on that size plus 100 bytes of indexing overhead per item.
 */

/** DynamoDB's per-item storage overhead, billed beside the item's own size. */
export const ITEM_STORAGE_OVERHEAD_BYTES = 100;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** One byte per two significant digits (leading and trailing zeros trimmed), plus one. */
export function numberSize(value: number | bigint | string): number {
  let text = typeof value === 'string' ? value : typeof value === 'bigint' ? value.toString() : String(value);
  text = text.trim().replace(/^[+-]/, '').toLowerCase();
  const mantissa = text.split('e')[0] ?? '';
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** The size of one attribute value, as the document client returns it. */
export function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Set) {
    let size = 0;
    for (const element of value) size += valueSize(element);
    return size;
  }
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element: unknown) => sum + valueSize(element), 0);
  // lib-dynamodb's NumberValue (a number kept as its string).
  if (
    typeof value === 'object' &&
    value !== null &&
    'value' in value &&
    typeof (value as { value: unknown }).value === 'string' &&
    value.constructor?.name === 'NumberValue'
  ) {
    return numberSize((value as { value: string }).value);
  }
  if (typeof value === 'object') return 3 + attributesSize(value as Record<string, unknown>);
  return 0;
}

function attributesSize(attributes: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    size += utf8(name) + valueSize(value);
  }
  return size;
}

/** An item's size in bytes (what DynamoDB's 400 KB limit and its capacity units are measured on). */
export function itemSize(item: Record<string, unknown>): number {
  return attributesSize(item);
}

/** What storing the item is billed on: its size plus the per-item overhead. */
export function storedItemBytes(item: Record<string, unknown>): number {
  return itemSize(item) + ITEM_STORAGE_OVERHEAD_BYTES;
}
