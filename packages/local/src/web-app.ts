/**
 * The web app on the router's origin, as the router's CloudFront distribution serves it in AWS
 * (its `/app/*` behaviour → the StaticSite bucket): the files Vite built into `webRoot`, under
 * `/app/`, and `index.html` for every other path under `/app/` (a client-side route such as
 * `/app/cases/123`, which the app's router resolves in the browser).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { WEB_APP_PATH, webAppSecurityHeaders } from '@cellbook/core/access/browser-cors';
import { answerBeforeBody } from './early-answer.js';

/** The types a Vite build emits; anything else is served as bytes (and `nosniff` keeps it so). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where Vite puts the files it names by their content hash. */
const ASSETS_PATH = `${WEB_APP_PATH}assets/`;
/** Built assets have content hashes in their names: a browser may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) is revalidated, so a new build is picked up at once. */
const REVALIDATE = 'no-cache';

export interface WebAppOptions {
  /** The directory Vite built into (index.html, assets/*); none: every page says to build it. */
  root: string | undefined;
  /** Origins the app fetches evidence from (the S3 endpoint), for its Content-Security-Policy. */
  evidenceOrigins: () => readonly string[];
}

/**
 * Answers a request the router handles itself (preflight, redirect, static file). A request without
 * a body keeps its connection; one with a body is answered at once and drained (early-answer.ts).
 */
export function answerLocally(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  const bodyless = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
  if (!bodyless) {
    answerBeforeBody(req, res, status, headers, body);
    return;
  }
  const payload = Buffer.from(body, 'utf8');
  // A 204 has no body and so no length (RFC 9110 §8.6).
  res.writeHead(status, status === 204 ? headers : { ...headers, 'content-length': String(payload.byteLength) });
  res.end(req.method === 'HEAD' || status === 204 ? undefined : payload);
}

/** True for `/app` and every path under `/app/` (query string aside). */
export function isWebAppPath(target: string): boolean {
  const path = target.split('?', 1)[0]!;
  return path === WEB_APP_PATH.slice(0, -1) || path.startsWith(WEB_APP_PATH);
}

/** The file under `root` a request path names, or undefined when it names none (or escapes root). */
function fileFor(root: string, target: string): string | undefined {
  const path = target.split('?', 1)[0]!;
  let relative: string;
  try {
    relative = decodeURIComponent(path.slice(WEB_APP_PATH.length));
  } catch (error) {
    // A malformed percent-escape names no file; the client route fallback answers.
    if (error instanceof URIError) return undefined;
    throw error;
  }
  if (relative === '' || relative.includes('\0')) return undefined;
  const file = resolve(root, relative);
  // `..` segments (encoded or not) must never leave the build directory.
  return file.startsWith(root + sep) ? file : undefined;
}

export function createWebApp(options: WebAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const root = options.root === undefined ? undefined : resolve(options.root);
  const index = root === undefined ? undefined : join(root, 'index.html');

  async function regularFile(file: string | undefined): Promise<{ file: string; size: number } | undefined> {
    if (file === undefined) return undefined;
    const stats = await stat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    return stats?.isFile() ? { file, size: stats.size } : undefined;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const security = webAppSecurityHeaders(options.evidenceOrigins());
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      answerLocally(req, res, 405, { ...security, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'Method Not Allowed\n');
      return;
    }
    // `/app` → `/app/`: relative URLs in index.html resolve against the directory.
    if (target.split('?', 1)[0] === WEB_APP_PATH.slice(0, -1)) {
      answerLocally(req, res, 302, { ...security, location: WEB_APP_PATH, 'content-type': 'text/plain; charset=utf-8' }, `Found: ${WEB_APP_PATH}\n`);
      return;
    }
    const requested = root === undefined ? undefined : await regularFile(fileFor(root, target));
    const isAsset = target.startsWith(ASSETS_PATH);
    if (root !== undefined && isAsset && !requested) {
      // A built asset that is not there (an old page asking for a previous build's file): a 404,
      // never index.html under a name browsers would keep for a year.
      answerLocally(req, res, 404, { ...security, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, 'Not Found\n');
      return;
    }
    const served = requested ?? (await regularFile(index));
    if (!served) {
      answerLocally(
        req,
        res,
        503,
        { ...security, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        `The web app has not been built${index === undefined ? '' : ` (no ${index})`}.\nRun: npm run build:web\n`,
      );
      return;
    }
    res.writeHead(200, {
      ...security,
      'content-type': CONTENT_TYPES[extname(served.file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(served.size),
      'cache-control': isAsset ? IMMUTABLE : REVALIDATE,
    });
    if (method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(served.file);
    // A file that vanished or failed mid-read: cut the response, never complete it with less.
    stream.once('error', () => res.destroy());
    stream.pipe(res);
  }

  return (req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) answerLocally(req, res, 500, { 'content-type': 'text/plain; charset=utf-8' }, 'Internal Server Error\n');
      else res.destroy();
    });
  };
}
