/**
 * The `Content-Disposition` of an evidence download: always `attachment` (a browser saves the file,
 * never renders it on the bucket's origin), with the uploader's file name made safe for a header.
 * The name is the client's text: quotes, backslashes, control characters, path separators and
 * non-ASCII letters must neither break the header nor name a path.
 */

/** Characters a quoted `filename="…"` must not carry: quotes, backslashes, controls, path separators, non-ASCII. */
const UNSAFE_IN_FALLBACK = /[^\x20-\x7e]|["\\/%;]/g;

/** RFC 5987 `attr-char`s are sent as they are; every other UTF-8 byte is percent-encoded. */
function encodeExtValue(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** The file name with path separators and control characters replaced (what both header forms start from). */
export function safeFileName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  return cleaned === '' || /^\.+$/.test(cleaned) ? 'evidence' : cleaned;
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>` (RFC 6266):
 * old clients take the plain ASCII fallback, current ones the exact UTF-8 name.
 */
export function attachmentDisposition(name: string): string {
  const safe = safeFileName(name);
  const fallback = safe.replace(UNSAFE_IN_FALLBACK, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(safe)}`;
}
