import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * One tenant's request over API Gateway's 10 MiB payload limit is answered 413 and costs nobody
 * else anything: the next requests of another tenant of the same cell all succeed, whether the
 * oversized body announced its length or came chunked.
 */
const ELEVEN_MIB = 11 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 'x');

/** What the sender of the oversized body sees: the status and body, however the connection ended after them. */
function sendOversized(base: string, token: string, framing: 'content-length' | 'chunked'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (framing === 'content-length') headers['content-length'] = String(ELEVEN_MIB);
  return new Promise((resolve, reject) => {
    let answered: { status: number; body: string } | undefined;
    const req = request({ hostname, port, method: 'POST', path: '/cases', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        answered = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
        resolve(answered);
      });
    });
    // The server may stop reading once it has answered: an error after the answer is not a failure.
    req.on('error', (error) => (answered ? resolve(answered) : reject(error)));
    let sent = 0;
    const writeMore = () => {
      while (sent < ELEVEN_MIB && !req.destroyed) {
        sent += CHUNK.byteLength;
        if (!req.write(CHUNK)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

describe('a request over the payload limit', () => {
  let t: TestPlatform;
  let loud: TestTenant;
  let neighbour: TestTenant;

  beforeAll(async () => {
    // One pooled cell, so both tenants share its gateway and the router's connections to it.
    t = await bootTestPlatform({ cells: [{ cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 10 }] });
    loud = await t.onboard('basic');
    neighbour = await t.onboard('premium');
    expect(neighbour.cellId).toBe(loud.cellId);
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it.each(['content-length', 'chunked'] as const)(
    'is answered 413 (%s) and never costs another tenant of the cell a request',
    async (framing) => {
      for (let round = 0; round < 3; round++) {
        const oversized = await sendOversized(t.url, loud.token, framing);
        expect(oversized.status).toBe(413);
        expect(JSON.parse(oversized.body)).toEqual({ message: 'Request Too Long' });

        const created = await neighbour.call('POST', '/cases', { body: { title: `After round ${round}`, priority: 'low' } });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const listed = await neighbour.call('GET', '/cases');
        expect(listed.status, JSON.stringify(listed.body)).toBe(200);
        const read = await neighbour.call('GET', `/cases/${(created.body as { caseId: string }).caseId}`);
        expect(read.status, JSON.stringify(read.body)).toBe(200);
      }
      // The loud tenant's own next request is served too.
      expect((await loud.call('GET', '/cases')).status).toBe(200);
    },
    60_000,
  );
});
