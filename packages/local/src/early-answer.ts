/**
 * Answering a request before its body has arrived, without resetting the connection under the
 * client. Closing a socket that still has unread bytes makes the kernel send a reset, which can
 * reach the client before it has read the answer (it then sees ECONNRESET, or a proxy in front
 * answers 502). So the answer is written at once, marked `Connection: close`, and the connection
 * is closed only after the rest of the body has been read and discarded — within a bound, so a
 * client that keeps sending cannot hold the connection open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DrainLimits {
  /** Discard at most this many more bytes of the body… */
  maxBytes: number;
  /** …for at most this long; past either bound the connection is closed as it stands. */
  maxMs: number;
}

export const DEFAULT_DRAIN_LIMITS: DrainLimits = { maxBytes: 32 * 1024 * 1024, maxMs: 10_000 };

/**
 * Ends `res` (whose headers and body are already written) once `req`'s body has been read to its
 * end or a limit is reached. Call it only for a response that says `Connection: close`.
 */
export function endAfterBody(req: IncomingMessage, res: ServerResponse, limits: DrainLimits = DEFAULT_DRAIN_LIMITS): void {
  if (req.complete || req.destroyed) {
    res.end();
    return;
  }
  let discarded = 0;
  const finish = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', finish);
    req.off('close', finish);
    if (!res.writableEnded) res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > limits.maxBytes) finish();
  };
  const timer = setTimeout(finish, limits.maxMs);
  timer.unref();
  req.on('data', onData);
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}

/** Writes a whole answer now and closes the connection once the request's body is drained. */
export function answerBeforeBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
  limits?: DrainLimits,
): void {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'content-length': String(payload.byteLength), connection: 'close' });
  res.write(payload);
  endAfterBody(req, res, limits);
}
