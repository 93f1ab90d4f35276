/**
 * The local S3 endpoint (DESIGN §11): path-style S3 REST for the operations Cellbook uses —
 * PutObject, GetObject (with Range), HeadObject, DeleteObject, DeleteObjects, ListObjectsV2,
 * CopyObject and multipart uploads — behind the same IAM enforcement as the DynamoDB endpoint.
 * Every request is authenticated (SigV4 in headers or a presigned query string, s3-signature.ts),
 * authorized by LocalIam against the caller's real policies with S3's actions, resource ARNs and
 * condition keys (`s3:prefix`, `s3:delimiter`, `s3:max-keys`), and checked for integrity
 * (`x-amz-content-sha256`, `Content-MD5`, `x-amz-checksum-*`, the declared length) before anything
 * is stored. Answers are S3's XML documents and status codes, so the real SDK raises the same
 * named errors it would against AWS.
 *
 * Hand-written: the npm S3 fakes (s3rver, last released years ago and archived) verify no
 * signature and evaluate no policy, and the enforcement is what this endpoint is for.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { EVIDENCE_CORS } from '@cellbook/core/access/browser-cors';
import type { LocalIam } from './local-iam.js';
import { isS3Error, s3Error, UNSIGNED_PAYLOAD, type S3AuthError, type S3Caller } from './s3-signature.js';
import type { ChecksumName, ObjectStore, StoredObject } from './s3-storage.js';
import { childElements, childText, el, xmlDocument, type XmlContent } from './s3-xml.js';
import { readSignedRequest } from './sigv4-verifier.js';
import { isAwsError, type RequestListener, type SignedRequest } from './types.js';

export interface S3EndpointOptions {
  iam: LocalIam;
  store: ObjectStore;
  /** The largest request body taken (an object or a part); S3's single PUT allows 5 GiB, memory does not. */
  maxBodyBytes?: number;
}

export interface BucketOptions {
  /** Origins whose browsers may call the bucket (CORS), read on every request; none by default. */
  corsOrigins?: () => readonly string[];
}

export interface LocalS3 {
  listener: RequestListener;
  /** Creates a bucket, as its stack would (no S3 call: nobody is granted s3:CreateBucket). */
  createBucket(bucket: string, options?: BucketOptions): Promise<void>;
}

type S3Error = S3AuthError;
type Headers = Record<string, string | undefined>;

const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Every part of a multipart upload but the last must be at least this large. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_DELETE_KEYS = 1000;
const MAX_LIST_KEYS = 1000;
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
/** Presigned URLs carry these as query parameters; the other `x-amz-*` parameters stand for headers. */
const QUERY_AUTH_PARAMETERS = new Set([
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-signedheaders',
  'x-amz-signature',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);
const CHECKSUMS: readonly ChecksumName[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];
const CHECKSUM_LENGTH: Record<ChecksumName, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };
/** Query parameters that name a sub-resource this endpoint does not serve (bucket configuration and the like). */
const RESPONSE_OVERRIDES = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-language': 'content-language',
  'response-content-encoding': 'content-encoding',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
} as const;

interface Bucket {
  corsOrigins: () => readonly string[];
}

interface MultipartUpload {
  bucket: string;
  key: string;
  initiated: number;
  template: Omit<StoredObject, 'body' | 'etag' | 'lastModified' | 'checksums'>;
  parts: Map<number, { body: Buffer; etag: string; lastModified: number; checksums: StoredObject['checksums'] }>;
}

/** One request, as the operations see it. */
interface S3Request {
  method: string;
  bucket: string;
  /** The object key, decoded; empty for a bucket-level request. */
  key: string;
  query: URLSearchParams;
  /** Lower-case header names; for a presigned URL also its `x-amz-*` query parameters. */
  headers: Headers;
  caller: S3Caller;
  signed: SignedRequest;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function createLocalS3(options: S3EndpointOptions): LocalS3 {
  const { iam, store } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const buckets = new Map<string, Bucket>();
  const uploads = new Map<string, MultipartUpload>();

  const authorize = async (request: S3Request, action: string, resource: string, context?: Record<string, string>): Promise<S3Error | undefined> => {
    const decision = await iam.authorize(request.caller.session, { action, resource, ...(context ? { context } : {}) });
    if (decision.allowed) return undefined;
    return s3Error(
      403,
      'AccessDenied',
      `User: ${request.caller.session.assumedRoleArn} is not authorized to perform: ${action} on resource: "${resource}" ${decision.reason}`,
    );
  };

  /** S3 says NoSuchKey only to a caller who may list the bucket; anyone else learns nothing: 403. */
  const missingKey = async (request: S3Request, bucket: string, key: string): Promise<S3Error> => {
    const denied = await authorize(request, 's3:ListBucket', bucketArn(bucket));
    return denied ?? withKey(s3Error(404, 'NoSuchKey', 'The specified key does not exist.'), key);
  };

  // Objects.

  const putObject = async (request: S3Request): Promise<Answer | S3Error> => {
    const { bucket, key } = request;
    const denied = await authorize(request, 's3:PutObject', objectArn(bucket, key));
    if (denied) return denied;
    const payload = verifiedPayload(request);
    if (isS3Error(payload)) return payload;
    if (request.headers['if-none-match'] === '*' && (await store.get(bucket, key))) {
      return s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    const object: StoredObject = {
      ...objectTemplate(request.headers),
      body: payload.body,
      etag: `"${md5Hex(payload.body)}"`,
      lastModified: Date.now(),
      checksums: payload.checksums,
    };
    await store.put(bucket, key, object);
    return { status: 200, headers: { etag: object.etag, ...checksumHeaders(object.checksums) } };
  };

  const getObject = async (request: S3Request, head: boolean): Promise<Answer | S3Error> => {
    const { bucket, key } = request;
    const denied = await authorize(request, 's3:GetObject', objectArn(bucket, key));
    if (denied) return denied;
    const object = await store.get(bucket, key);
    if (!object) return missingKey(request, bucket, key);
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      etag: object.etag,
      'last-modified': new Date(object.lastModified).toUTCString(),
      'accept-ranges': 'bytes',
      ...(object.contentDisposition ? { 'content-disposition': object.contentDisposition } : {}),
      ...Object.fromEntries(Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
    };
    for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = request.query.get(parameter);
      if (value !== null) headers[header] = value;
    }
    const range = parseRange(request.headers.range, object.body.length);
    if (range === 'unsatisfiable') {
      return { ...errorAnswer(s3Error(416, 'InvalidRange', 'The requested range is not satisfiable'), head), headers: { 'content-range': `bytes */${object.body.length}` } };
    }
    if (range) {
      const body = object.body.subarray(range.start, range.end + 1);
      headers['content-range'] = `bytes ${range.start}-${range.end}/${object.body.length}`;
      headers['content-length'] = String(body.length);
      return { status: 206, headers, body: head ? Buffer.alloc(0) : body };
    }
    // The whole object's checksum, when asked for (a range has none).
    if (request.headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED' && Object.keys(object.checksums).length > 0) {
      Object.assign(headers, checksumHeaders(object.checksums), { 'x-amz-checksum-type': 'FULL_OBJECT' });
    }
    headers['content-length'] = String(object.body.length);
    return { status: 200, headers, body: head ? Buffer.alloc(0) : object.body };
  };

  const deleteObject = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:DeleteObject', objectArn(request.bucket, request.key));
    if (denied) return denied;
    await store.delete(request.bucket, request.key);
    return { status: 204 };
  };

  const copyObject = async (request: S3Request, copySource: string): Promise<Answer | S3Error> => {
    const source = parseCopySource(copySource);
    if (!source) return s3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
    const deniedRead = await authorize(request, 's3:GetObject', objectArn(source.bucket, source.key));
    if (deniedRead) return deniedRead;
    const deniedWrite = await authorize(request, 's3:PutObject', objectArn(request.bucket, request.key));
    if (deniedWrite) return deniedWrite;
    if (!(await store.hasBucket(source.bucket))) return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const original = await store.get(source.bucket, source.key);
    if (!original) return missingKey(request, source.bucket, source.key);
    const replace = request.headers['x-amz-metadata-directive']?.toUpperCase() === 'REPLACE';
    if (!replace && source.bucket === request.bucket && source.key === request.key) {
      return s3Error(
        400,
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const copy: StoredObject = {
      ...(replace ? objectTemplate(request.headers) : { contentType: original.contentType, metadata: { ...original.metadata } }),
      ...(!replace && original.contentDisposition ? { contentDisposition: original.contentDisposition } : {}),
      body: original.body,
      etag: original.etag,
      lastModified: Date.now(),
      checksums: { ...original.checksums },
    };
    await store.put(request.bucket, request.key, copy);
    return xmlAnswer(200, 'CopyObjectResult', [el('LastModified', new Date(copy.lastModified).toISOString()), el('ETag', copy.etag), ...checksumElements(copy.checksums)], {
      'x-amz-copy-source-version-id': 'null',
    });
  };

  // Bucket-level operations.

  const deleteObjects = async (request: S3Request): Promise<Answer | S3Error> => {
    const payload = verifiedPayload(request);
    if (isS3Error(payload)) return payload;
    if (request.headers['content-md5'] === undefined && Object.keys(payload.checksums).length === 0) {
      return s3Error(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
    }
    const xml = payload.body.toString('utf8');
    const objects = childElements(xml, 'Object');
    if (!/<Delete[\s>]/.test(xml) || objects.length === 0 || objects.length > MAX_DELETE_KEYS) {
      return s3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    const quiet = childText(xml.replace(/<Object[\s>][\s\S]*?<\/Object\s*>/g, ''), 'Quiet')?.trim() === 'true';
    const results: XmlContent[] = [];
    for (const object of objects) {
      const key = childText(object, 'Key');
      if (key === undefined) return s3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      // Each key is authorized on its own, and refused keys are reported without stopping the rest.
      const denied = await authorize(request, 's3:DeleteObject', objectArn(request.bucket, key));
      if (denied) {
        results.push(el('Error', [el('Key', key), el('Code', 'AccessDenied'), el('Message', 'Access Denied')]));
        continue;
      }
      await store.delete(request.bucket, key);
      if (!quiet) results.push(el('Deleted', el('Key', key)));
    }
    return xmlAnswer(200, 'DeleteResult', results);
  };

  const listObjectsV2 = async (request: S3Request): Promise<Answer | S3Error> => {
    const { query, bucket } = request;
    const prefix = query.get('prefix');
    const delimiter = query.get('delimiter');
    const maxKeysParameter = query.get('max-keys');
    if (maxKeysParameter !== null && !/^\d+$/.test(maxKeysParameter)) return s3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const maxKeys = Math.min(maxKeysParameter === null ? MAX_LIST_KEYS : Number(maxKeysParameter), MAX_LIST_KEYS);
    // The condition keys IAM sees are the request's own parameters: absent ones are absent.
    const context: Record<string, string> = {};
    if (prefix !== null) context['s3:prefix'] = prefix;
    if (delimiter !== null) context['s3:delimiter'] = delimiter;
    if (maxKeysParameter !== null) context['s3:max-keys'] = maxKeysParameter;
    const denied = await authorize(request, 's3:ListBucket', bucketArn(bucket), context);
    if (denied) return denied;
    const token = query.get('continuation-token');
    const resume = token === null ? undefined : parseContinuationToken(token);
    if (resume === null) return s3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
    const startAfter = query.get('start-after') ?? '';
    const after = resume && resume.after > startAfter ? resume.after : startAfter;
    const urlEncoded = query.get('encoding-type') === 'url';
    const encode = (value: string) => (urlEncoded ? encodeURIComponent(value).replace(/%2F/g, '/') : value);

    const contents: XmlContent[] = [];
    const commonPrefixes: string[] = [];
    let skipPrefix = resume?.commonPrefix ? resume.after : undefined;
    let last: { after: string; commonPrefix: boolean } | undefined;
    let truncated = false;
    for await (const [key, summary] of store.entries(bucket, { prefix: prefix ?? '', after })) {
      if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
      skipPrefix = undefined;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      const cut = delimiter ? key.indexOf(delimiter, (prefix ?? '').length) : -1;
      if (delimiter && cut !== -1) {
        const common = key.slice(0, cut + delimiter.length);
        commonPrefixes.push(common);
        last = { after: common, commonPrefix: true };
        skipPrefix = common;
        continue;
      }
      contents.push(
        el('Contents', [
          el('Key', encode(key)),
          el('LastModified', new Date(summary.lastModified).toISOString()),
          el('ETag', summary.etag),
          el('Size', summary.size),
          el('StorageClass', 'STANDARD'),
        ]),
      );
      last = { after: key, commonPrefix: false };
    }
    return xmlAnswer(200, 'ListBucketResult', [
      el('Name', bucket),
      el('Prefix', encode(prefix ?? '')),
      el('KeyCount', contents.length + commonPrefixes.length),
      el('MaxKeys', maxKeys),
      el('Delimiter', delimiter === null ? undefined : encode(delimiter)),
      el('IsTruncated', truncated),
      contents,
      commonPrefixes.map((common) => el('CommonPrefixes', el('Prefix', encode(common)))),
      el('ContinuationToken', token ?? undefined),
      el('NextContinuationToken', truncated && last ? continuationToken(last) : undefined),
      el('StartAfter', query.get('start-after') === null ? undefined : encode(startAfter)),
      el('EncodingType', urlEncoded ? 'url' : undefined),
    ]);
  };

  // Multipart uploads.

  const uploadOf = (request: S3Request): MultipartUpload | S3Error => {
    const uploadId = request.query.get('uploadId') ?? '';
    const upload = uploads.get(uploadId);
    if (!upload || upload.bucket !== request.bucket || upload.key !== request.key) {
      return withField(
        s3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'),
        'UploadId',
        uploadId,
      );
    }
    return upload;
  };

  const createMultipartUpload = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:PutObject', objectArn(request.bucket, request.key));
    if (denied) return denied;
    const uploadId = randomBytes(24).toString('base64url');
    uploads.set(uploadId, { bucket: request.bucket, key: request.key, initiated: Date.now(), template: objectTemplate(request.headers), parts: new Map() });
    return xmlAnswer(200, 'InitiateMultipartUploadResult', [el('Bucket', request.bucket), el('Key', request.key), el('UploadId', uploadId)]);
  };

  const uploadPart = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:PutObject', objectArn(request.bucket, request.key));
    if (denied) return denied;
    const upload = uploadOf(request);
    if (isS3Error(upload)) return upload;
    const partNumber = Number(request.query.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      return s3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    }
    const payload = verifiedPayload(request);
    if (isS3Error(payload)) return payload;
    const etag = `"${md5Hex(payload.body)}"`;
    upload.parts.set(partNumber, { body: payload.body, etag, lastModified: Date.now(), checksums: payload.checksums });
    return { status: 200, headers: { etag, ...checksumHeaders(payload.checksums) } };
  };

  const completeMultipartUpload = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:PutObject', objectArn(request.bucket, request.key));
    if (denied) return denied;
    const upload = uploadOf(request);
    if (isS3Error(upload)) return upload;
    const payload = verifiedPayload(request);
    if (isS3Error(payload)) return payload;
    const listed = childElements(payload.body.toString('utf8'), 'Part').map((part) => ({
      number: Number(childText(part, 'PartNumber')),
      etag: childText(part, 'ETag')?.trim() ?? '',
    }));
    if (listed.length === 0) return s3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    const bodies: Buffer[] = [];
    const digests: Buffer[] = [];
    for (const [index, part] of listed.entries()) {
      if (index > 0 && part.number <= (listed[index - 1]?.number ?? 0))
        return s3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      const stored = upload.parts.get(part.number);
      if (!stored || unquote(stored.etag) !== unquote(part.etag)) {
        return s3Error(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
        );
      }
      if (index < listed.length - 1 && stored.body.length < MIN_PART_BYTES)
        return s3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
      bodies.push(stored.body);
      digests.push(Buffer.from(unquote(stored.etag), 'hex'));
    }
    const object: StoredObject = {
      ...upload.template,
      body: Buffer.concat(bodies),
      etag: `"${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${listed.length}"`,
      lastModified: Date.now(),
      checksums: {},
    };
    await store.put(request.bucket, request.key, object);
    uploads.delete(request.query.get('uploadId') ?? '');
    return xmlAnswer(200, 'CompleteMultipartUploadResult', [
      el('Location', `/${request.bucket}/${request.key}`),
      el('Bucket', request.bucket),
      el('Key', request.key),
      el('ETag', object.etag),
    ]);
  };

  const abortMultipartUpload = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:AbortMultipartUpload', objectArn(request.bucket, request.key));
    if (denied) return denied;
    const upload = uploadOf(request);
    if (isS3Error(upload)) return upload;
    uploads.delete(request.query.get('uploadId') ?? '');
    return { status: 204 };
  };

  const listParts = async (request: S3Request): Promise<Answer | S3Error> => {
    const denied = await authorize(request, 's3:ListMultipartUploadParts', objectArn(request.bucket, request.key));
    if (denied) return denied;
    const upload = uploadOf(request);
    if (isS3Error(upload)) return upload;
    const parts = [...upload.parts.entries()].sort(([a], [b]) => a - b);
    return xmlAnswer(200, 'ListPartsResult', [
      el('Bucket', request.bucket),
      el('Key', request.key),
      el('UploadId', request.query.get('uploadId') ?? ''),
      el('IsTruncated', false),
      parts.map(([number, part]) =>
        el('Part', [el('PartNumber', number), el('LastModified', new Date(part.lastModified).toISOString()), el('ETag', part.etag), el('Size', part.body.length)]),
      ),
    ]);
  };

  const dispatch = async (request: S3Request): Promise<Answer | S3Error> => {
    const { method, key, query, headers } = request;
    if (key === '') {
      if (method === 'GET' && query.get('list-type') === '2') return listObjectsV2(request);
      if (method === 'POST' && query.has('delete')) return deleteObjects(request);
      if (method === 'HEAD') {
        const denied = await authorize(request, 's3:ListBucket', bucketArn(request.bucket));
        return denied ?? { status: 200 };
      }
      return notImplemented(method, query);
    }
    if (query.has('uploadId')) {
      if (method === 'PUT' && query.has('partNumber') && headers['x-amz-copy-source'] === undefined) return uploadPart(request);
      if (method === 'POST') return completeMultipartUpload(request);
      if (method === 'DELETE') return abortMultipartUpload(request);
      if (method === 'GET') return listParts(request);
      return notImplemented(method, query);
    }
    if (method === 'POST' && query.has('uploads')) return createMultipartUpload(request);
    if (hasSubresource(query)) return notImplemented(method, query);
    if (method === 'PUT') return headers['x-amz-copy-source'] === undefined ? putObject(request) : copyObject(request, headers['x-amz-copy-source']);
    if (method === 'GET' || method === 'HEAD') return getObject(request, method === 'HEAD');
    if (method === 'DELETE') return deleteObject(request);
    return s3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const { bucket, key } = parsePath(req.url ?? '/');
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const bucketConfig = bucket === undefined ? undefined : buckets.get(bucket);
    const allowedOrigin = origin !== undefined && bucketConfig?.corsOrigins().includes(origin) ? origin : undefined;
    const cors: Record<string, string> = allowedOrigin
      ? { 'access-control-allow-origin': allowedOrigin, 'access-control-expose-headers': EVIDENCE_CORS.exposedHeaders.join(', '), vary: 'Origin' }
      : {};
    const head = method === 'HEAD';
    if (method === 'OPTIONS') return send(res, preflight(req, bucketConfig, allowedOrigin));

    const signed = await readSignedRequest(req, 's3', maxBodyBytes);
    if (isAwsError(signed)) return send(res, errorAnswer(s3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'), head), cors);
    const caller = iam.authenticateS3(signed);
    if (isS3Error(caller)) return send(res, errorAnswer(caller, head), cors);
    if (bucket === undefined) return send(res, errorAnswer(notImplemented(method, new URLSearchParams()), head), cors);
    if (!bucketConfig || !(await store.hasBucket(bucket)))
      return send(res, errorAnswer(withField(s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist'), 'BucketName', bucket), head), cors);
    const query = new URLSearchParams(queryString(req.url ?? '/'));
    const request: S3Request = { method, bucket, key, query, headers: effectiveHeaders(req, query, caller.presigned), caller, signed };
    const answer = await dispatch(request);
    send(res, isS3Error(answer) ? errorAnswer(key === '' ? answer : withKey(answer, key, false), head) : answer, cors);
  };

  return {
    listener: (req, res) => {
      handle(req, res).catch((error: unknown) => {
        console.error('[local s3] request failed', error);
        if (!res.headersSent) send(res, errorAnswer(s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'), req.method === 'HEAD'));
        else res.destroy();
      });
    },
    async createBucket(bucket, bucketOptions = {}) {
      await store.createBucket(bucket);
      buckets.set(bucket, { corsOrigins: bucketOptions.corsOrigins ?? (() => []) });
    },
  };
}

/** A CORS preflight (never signed): allowed for the bucket's origins, S3's methods and headers only. */
function preflight(req: IncomingMessage, bucket: Bucket | undefined, allowedOrigin: string | undefined): Answer {
  const method = String(req.headers['access-control-request-method'] ?? '').toUpperCase();
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const allowed =
    bucket !== undefined &&
    allowedOrigin !== undefined &&
    (EVIDENCE_CORS.allowedMethods as readonly string[]).includes(method) &&
    requested.every((name) => (EVIDENCE_CORS.allowedHeaders as readonly string[]).includes(name));
  if (!allowed) {
    return errorAnswer(
      s3Error(
        403,
        'AccessForbidden',
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      ),
      false,
    );
  }
  return {
    status: 200,
    headers: {
      'access-control-allow-origin': allowedOrigin,
      'access-control-allow-methods': EVIDENCE_CORS.allowedMethods.join(', '),
      ...(requested.length > 0 ? { 'access-control-allow-headers': requested.join(', ') } : {}),
      'access-control-expose-headers': EVIDENCE_CORS.exposedHeaders.join(', '),
      'access-control-max-age': String(EVIDENCE_CORS.maxAgeSeconds),
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    },
  };
}

// Integrity: what the signature and the headers declare about the body, checked against it.

interface VerifiedPayload {
  body: Buffer;
  checksums: StoredObject['checksums'];
}

function verifiedPayload(request: S3Request): VerifiedPayload | S3Error {
  const { headers } = request;
  const raw = request.signed.body;
  const declared = request.caller.payloadHash;
  let body = raw;
  const trailers: Headers = {};
  if (declared === STREAMING_UNSIGNED_TRAILER) {
    const decoded = decodeAwsChunked(raw);
    if (isS3Error(decoded)) return decoded;
    body = decoded.body;
    Object.assign(trailers, decoded.trailers);
    const decodedLength = headers['x-amz-decoded-content-length'];
    if (decodedLength !== undefined && Number(decodedLength) !== body.length) {
      return s3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
  } else if (declared.startsWith('STREAMING-')) {
    return s3Error(
      501,
      'NotImplemented',
      `The local S3 endpoint does not take ${declared} bodies; send the payload's SHA-256, UNSIGNED-PAYLOAD or ${STREAMING_UNSIGNED_TRAILER}.`,
    );
  } else if (declared !== UNSIGNED_PAYLOAD) {
    if (!/^[0-9a-f]{64}$/.test(declared))
      return s3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING- value, or a valid sha256 value.');
    if (sha256(raw).toString('hex') !== declared)
      return s3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const length = headers['content-length'];
  if (declared !== STREAMING_UNSIGNED_TRAILER && length !== undefined && Number(length) !== raw.length) {
    return s3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
  }
  const md5 = headers['content-md5'];
  if (md5 !== undefined) {
    const digest = decodeBase64(md5, 16);
    if (!digest) return s3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (!digest.equals(createHash('md5').update(body).digest())) return s3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const checksums: StoredObject['checksums'] = {};
  for (const name of CHECKSUMS) {
    const value = headers[`x-amz-checksum-${name}`] ?? trailers[`x-amz-checksum-${name}`];
    if (value === undefined) continue;
    const expected = decodeBase64(value, CHECKSUM_LENGTH[name]);
    if (!expected) return s3Error(400, 'InvalidRequest', `Value for x-amz-checksum-${name} header is invalid.`);
    const actual = checksumOf(name, body);
    if (!actual) return s3Error(501, 'NotImplemented', `The local S3 endpoint does not compute ${name.toUpperCase()} checksums; use CRC32, SHA1 or SHA256.`);
    if (!actual.equals(expected)) return s3Error(400, 'BadDigest', `The ${name.toUpperCase()} you specified did not match the calculated checksum.`);
    checksums[name] = value;
  }
  return { body, checksums };
}

function checksumOf(name: ChecksumName, body: Buffer): Buffer | undefined {
  if (name === 'sha256') return sha256(body);
  if (name === 'sha1') return createHash('sha1').update(body).digest();
  if (name === 'crc32') {
    const digest = Buffer.alloc(4);
    digest.writeUInt32BE(crc32(body) >>> 0);
    return digest;
  }
  return undefined;
}

/** `aws-chunked` with unsigned chunks: `<hex size>\r\n<bytes>\r\n` … `0\r\n<trailer>:<value>\r\n\r\n`. */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Headers } | S3Error {
  const malformed = s3Error(400, 'IncompleteBody', 'The request body is not valid aws-chunked encoding.');
  const chunks: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd === -1) return malformed;
    const size = Number.parseInt(raw.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size < 0) return malformed;
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > raw.length) return malformed;
    chunks.push(raw.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Headers = {};
  for (const line of raw.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(chunks), trailers };
}

// Wire helpers.

function parsePath(url: string): { bucket: string | undefined; key: string } {
  const path = url.split('?')[0] ?? '/';
  const slash = path.indexOf('/', 1);
  const bucket = decodePath(slash === -1 ? path.slice(1) : path.slice(1, slash));
  return { bucket: bucket === '' ? undefined : bucket, key: slash === -1 ? '' : decodePath(path.slice(slash + 1)) };
}

function decodePath(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch (error) {
    if (error instanceof URIError) return value;
    throw error;
  }
}

function queryString(url: string): string {
  const start = url.indexOf('?');
  return start === -1 ? '' : url.slice(start + 1);
}

function effectiveHeaders(req: IncomingMessage, query: URLSearchParams, presigned: boolean): Headers {
  const headers: Headers = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
  if (presigned) {
    // What the presigner hoisted into the URL (`x-amz-checksum-sha256`, …) is a header S3 honours.
    for (const [name, value] of query) {
      const lower = name.toLowerCase();
      if (lower.startsWith('x-amz-') && !QUERY_AUTH_PARAMETERS.has(lower) && headers[lower] === undefined) headers[lower] = value;
    }
  }
  return headers;
}

function objectTemplate(headers: Headers): Pick<StoredObject, 'contentType' | 'contentDisposition' | 'metadata'> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return {
    contentType: headers['content-type'] ?? 'binary/octet-stream',
    ...(headers['content-disposition'] ? { contentDisposition: headers['content-disposition'] } : {}),
    metadata,
  };
}

function checksumHeaders(checksums: StoredObject['checksums']): Record<string, string> {
  return Object.fromEntries(Object.entries(checksums).map(([name, value]) => [`x-amz-checksum-${name}`, value as string]));
}

function checksumElements(checksums: StoredObject['checksums']): XmlContent[] {
  return Object.entries(checksums).map(([name, value]) => el(`Checksum${name.toUpperCase()}`, value));
}

function parseCopySource(header: string): { bucket: string; key: string } | undefined {
  const [path = ''] = header.split('?');
  const decoded = decodePath(path).replace(/^\//, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) return undefined;
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // S3 serves the whole object for a Range it cannot parse.
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function hasSubresource(query: URLSearchParams): boolean {
  for (const name of query.keys()) {
    if (!name.toLowerCase().startsWith('x-amz-') && !(name in RESPONSE_OVERRIDES) && name !== 'x-id' && name !== 'versionId') return true;
  }
  return false;
}

function notImplemented(method: string, query: URLSearchParams): S3Error {
  const what = [...query.keys()].filter((name) => !name.toLowerCase().startsWith('x-amz-') && name !== 'x-id');
  return s3Error(501, 'NotImplemented', `The local S3 endpoint does not implement ${method}${what.length > 0 ? ` ?${what.join('&')}` : ''}.`);
}

function continuationToken(last: { after: string; commonPrefix: boolean }): string {
  return Buffer.from(JSON.stringify([last.after, last.commonPrefix]), 'utf8').toString('base64url');
}

/** The position a continuation token names; null when it is not one this endpoint issued. */
function parseContinuationToken(token: string): { after: string; commonPrefix: boolean } | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'boolean') return { after: value[0], commonPrefix: value[1] };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return null;
}

function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

function md5Hex(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

function sha256(body: Buffer): Buffer {
  return createHash('sha256').update(body).digest();
}

function decodeBase64(value: string, length: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === length ? decoded : undefined;
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/** Extra elements of an error document (`<Key>`, `<BucketName>`, `<UploadId>`). */
const errorFields = new WeakMap<S3Error, [string, string][]>();

function withField(error: S3Error, name: string, value: string): S3Error {
  errorFields.set(error, [...(errorFields.get(error) ?? []), [name, value]]);
  return error;
}

function withKey(error: S3Error, key: string, always = true): S3Error {
  if (!always && !['NoSuchKey', 'AccessDenied'].includes(error.code)) return error;
  if ((errorFields.get(error) ?? []).some(([name]) => name === 'Key')) return error;
  return withField(error, 'Key', key);
}

function xmlAnswer(status: number, root: string, content: XmlContent, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body: xmlDocument(root, content) };
}

function errorAnswer(error: S3Error, head: boolean): Answer {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  // A HEAD answer has no body: the SDK names the error from the status alone, as against S3.
  if (head) return { status: error.status, headers: { 'x-amz-request-id': requestId } };
  const fields = (errorFields.get(error) ?? []).map(([name, value]) => el(name, value));
  return {
    status: error.status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: xmlDocument('Error', [el('Code', error.code), el('Message', error.message), ...fields, el('RequestId', requestId), el('HostId', requestId)], { namespace: false }),
  };
}

function send(res: ServerResponse, answer: Answer, extraHeaders: Record<string, string> = {}): void {
  const body = answer.body === undefined ? undefined : typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
  const headers: Record<string, string> = { 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(), ...extraHeaders, ...answer.headers };
  if (headers['content-length'] === undefined) headers['content-length'] = String(body?.length ?? 0);
  res.writeHead(answer.status, headers);
  res.end(body);
}
