import { request } from 'node:http';

/**
 * A request as it leaves the client byte for byte: header names keep their case and repeats,
 * nothing is normalised or merged, and the target and header values are written as latin1 so a
 * test can put any byte on the wire (invalid UTF-8 included). `fetch` would refuse or rewrite most
 * of what hostile-input tests need to send.
 */
export interface RawRequest {
  method: string;
  /** The request target as sent (path and query); each char below 256 is one byte on the wire. */
  target: string;
  /** Name/value pairs in order; repeats are sent as repeats. Host and Content-Length are added unless given. */
  headers?: readonly (readonly [string, string])[];
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
}

export function rawRequest(baseUrl: string, raw: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const flat: string[] = raw.headers?.some(([name]) => name.toLowerCase() === 'host') ? [] : ['Host', url.host];
  for (const [name, value] of raw.headers ?? []) flat.push(name, value);
  const body = raw.body === undefined ? undefined : Buffer.isBuffer(raw.body) ? raw.body : Buffer.from(raw.body, 'utf8');
  const hasLength = raw.headers?.some(([name]) => name.toLowerCase() === 'content-length') ?? false;
  if (body !== undefined && !hasLength) flat.push('Content-Length', String(body.byteLength));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: raw.method, path: raw.target, headers: flat, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined; // Not JSON: assertions show `text`.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Names an ordinary object answers from `Object.prototype` before anyone sent them. */
export const PROTOTYPE_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'prototype',
] as const;
