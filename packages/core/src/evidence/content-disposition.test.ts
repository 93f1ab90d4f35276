import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attachmentDisposition, safeFileName } from './content-disposition.js';

/** The two file names a client reads from the header: the quoted ASCII fallback and the RFC 5987 UTF-8 one. */
function fileNamesOf(header: string): { fallback: string; exact: string } {
  const match = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]*)$/.exec(header);
  if (!match) throw new Error(`not an attachment disposition: ${header}`);
  return { fallback: match[1] ?? '', exact: decodeURIComponent(match[2] ?? '') };
}

describe('attachmentDisposition', () => {
  it('always makes the download an attachment, with the exact UTF-8 name and an ASCII fallback', () => {
    expect(attachmentDisposition('Rapport d’incident é.pdf')).toBe(
      `attachment; filename="Rapport d_incident _.pdf"; filename*=UTF-8''Rapport%20d%E2%80%99incident%20%C3%A9.pdf`,
    );
    expect(fileNamesOf(attachmentDisposition('photo 1.png'))).toEqual({ fallback: 'photo 1.png', exact: 'photo 1.png' });
  });

  it('keeps quotes, backslashes, semicolons and line breaks from breaking out of the header', () => {
    const header = attachmentDisposition('a"; filename="evil.html\r\nSet-Cookie: x=1\\.pdf');
    expect(header).not.toMatch(/[\r\n]/);
    expect(fileNamesOf(header).fallback).not.toMatch(/["\\;]/);
  });

  it('never names a path: separators and dot-only names are replaced', () => {
    expect(safeFileName('../../etc/passwd')).toBe('.._.._etc_passwd');
    expect(safeFileName('..')).toBe('evidence');
    expect(safeFileName('C:\\Users\\x.txt')).toBe('C:_Users_x.txt');
  });

  it('is a well-formed single-line header for any name, whose UTF-8 form names the sanitised file exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (name) => {
        const header = attachmentDisposition(name);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
        expect(header).not.toMatch(/[\u0000-\u001f\u007f]/);
        const { fallback, exact } = fileNamesOf(header);
        expect(exact).toBe(safeFileName(name));
        expect(exact).not.toMatch(/[/\\]/);
        expect(fallback).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });
});
