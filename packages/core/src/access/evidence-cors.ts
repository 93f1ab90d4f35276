/**
 * What a browser may do with a cell's evidence bucket across origins (DESIGN §11, §12): the web app
 * uploads to presigned PUT URLs (declaring the file's type, length and SHA-256) and downloads from
 * presigned GET URLs. The Cell stack's bucket CORS rule and the local S3 endpoint both read this;
 * which origins are allowed is the stage's configuration.
 */
export const EVIDENCE_CORS = {
  allowedMethods: ['GET', 'PUT', 'HEAD'],
  allowedHeaders: ['content-type', 'content-length', 'content-md5', 'x-amz-checksum-sha256'],
  exposedHeaders: ['etag', 'x-amz-checksum-sha256'],
  maxAgeSeconds: 600,
} as const;
