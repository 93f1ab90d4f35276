/**
 * The little XML the local S3 endpoint speaks: S3's response documents, written element by element,
 * and the two request documents it reads (DeleteObjects' `<Delete>`, CompleteMultipartUpload's
 * parts), which are flat lists of simple elements. No DTDs, no namespaces beyond S3's default one.
 */

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** An element's content: text, child elements, or a list of either (omitted when undefined). */
export type XmlContent = string | number | boolean | undefined | XmlElement | readonly XmlContent[];
export interface XmlElement {
  name: string;
  content: XmlContent;
}

export function el(name: string, content: XmlContent): XmlElement {
  return { name, content };
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function render(content: XmlContent): string {
  if (content === undefined) return '';
  if (Array.isArray(content)) return content.map(render).join('');
  if (typeof content === 'object') {
    const element = content as XmlElement;
    return element.content === undefined ? '' : `<${element.name}>${render(element.content)}</${element.name}>`;
  }
  return escapeXml(String(content));
}

/** A complete response document: `<Root xmlns="…">…</Root>` (error documents carry no namespace). */
export function xmlDocument(root: string, content: XmlContent, options: { namespace?: boolean } = {}): string {
  const open = options.namespace === false ? `<${root}>` : `<${root} xmlns="${S3_XMLNS}">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${open}${render(content)}</${root}>`;
}

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[entity] as string;
  });
}

/** The raw inner XML of every `<name>` element in `xml`, in document order (elements must not nest in themselves). */
export function childElements(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}\\s*>`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

/** The text of the first `<name>` element, entities decoded; undefined when there is none. */
export function childText(xml: string, name: string): string | undefined {
  const [inner] = childElements(xml, name);
  return inner === undefined ? undefined : decodeXmlText(inner.replace(/^<!\[CDATA\[([\s\S]*)\]\]>$/, '$1'));
}
