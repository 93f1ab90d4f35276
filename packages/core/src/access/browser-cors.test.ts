import { describe, expect, it } from 'vitest';
import {
  apiCorsHeaders,
  apiPreflight,
  browserOriginsForStage,
  EVIDENCE_CORS,
  evidenceBucketCorsConfiguration,
  evidenceBucketOrigins,
  parseBrowserOrigin,
} from './browser-cors.js';

describe('browser origins in configuration', () => {
  it.each(['https://portal.example.com', 'http://localhost:5173', 'http://127.0.0.1:8080'])('takes %s as browsers send it', (origin) => {
    expect(parseBrowserOrigin(origin)).toBe(origin);
  });

  it.each([
    ['a trailing slash', 'https://portal.example.com/'],
    ['a path', 'https://portal.example.com/app'],
    ['a wildcard', 'https://*.example.com'],
    ['upper case (browsers send lower case)', 'https://Portal.example.com'],
    ['no scheme', 'portal.example.com'],
    ['another scheme', 'ftp://portal.example.com'],
    ['the opaque origin', 'null'],
  ])('refuses an origin with %s, which no browser would ever send', (_label, origin) => {
    expect(() => parseBrowserOrigin(origin)).toThrow(/Not a browser origin/);
  });

  it('allows no origin on a stage the configuration does not list', () => {
    expect(browserOriginsForStage('prod')).toEqual([]);
    expect(browserOriginsForStage('constructor')).toEqual([]);
  });
});

describe('API preflights and responses', () => {
  const allowed = ['https://portal.example.com'];

  it('allows a listed origin, any API method and the headers the app sends, in any case and spacing', () => {
    const answer = apiPreflight(allowed, 'https://portal.example.com', 'patch', 'Authorization ,Content-Type');
    expect(answer).toEqual({ allowed: true, headers: expect.objectContaining({ 'access-control-allow-origin': 'https://portal.example.com', vary: 'Origin' }) });
  });

  it.each([
    ['an origin not listed', 'https://other.example.com', 'GET', ''],
    ['no origin', undefined, 'GET', ''],
    ['a method the API does not take', 'https://portal.example.com', 'PUT', ''],
    ['no requested method', 'https://portal.example.com', undefined, ''],
    ['a header the API does not take', 'https://portal.example.com', 'GET', 'authorization, x-amz-security-token'],
  ])('refuses %s', (_label, origin, method, headers) => {
    expect(apiPreflight(allowed, origin, method, headers)).toEqual({ allowed: false });
  });

  it('adds CORS headers to an actual response for a listed origin only', () => {
    expect(apiCorsHeaders(allowed, 'https://portal.example.com')['access-control-allow-origin']).toBe('https://portal.example.com');
    expect(apiCorsHeaders(allowed, 'https://portal.example.com.evil.net')).toEqual({});
    expect(apiCorsHeaders(allowed, undefined)).toEqual({});
  });
});

describe('evidence bucket CORS', () => {
  it('lets the web app’s own origin upload, then the stage’s listed origins, each once', () => {
    expect(evidenceBucketOrigins(['https://d111.cloudfront.net'], [])).toEqual(['https://d111.cloudfront.net']);
    expect(evidenceBucketOrigins(['http://localhost:4000', 'http://127.0.0.1:4000'], ['https://portal.example.com', 'http://localhost:4000'])).toEqual([
      'http://localhost:4000',
      'http://127.0.0.1:4000',
      'https://portal.example.com',
    ]);
  });

  it('writes one S3 CORS rule for exactly those origins, allowing what the app’s upload and download send', () => {
    expect(evidenceBucketCorsConfiguration(['https://d111.cloudfront.net'])).toEqual({
      CORSRules: [
        {
          AllowedOrigins: ['https://d111.cloudfront.net'],
          AllowedMethods: ['GET', 'PUT', 'HEAD'],
          AllowedHeaders: ['content-type', 'content-length', 'content-md5', 'x-amz-checksum-sha256'],
          ExposeHeaders: [...EVIDENCE_CORS.exposedHeaders],
          MaxAgeSeconds: EVIDENCE_CORS.maxAgeSeconds,
        },
      ],
    });
  });
});
