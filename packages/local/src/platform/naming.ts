/** The local stage, and the prefix of every resource name it creates (as `<stage>-<app>-…` in AWS). */
export const STAGE = 'local';
export const PREFIX = `cellbook-${STAGE}`;

/** A cell's evidence bucket (its Cell stack's, which CloudFormation names in AWS). */
export function cellBucketName(cellId: string): string {
  return `${PREFIX}-${cellId}-evidence`;
}
