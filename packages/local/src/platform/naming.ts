/** The local stage, and the prefix of every resource name it creates (as `<stage>-<app>-…` in AWS). */
export const STAGE = 'local';
export const PREFIX = `cellbook-${STAGE}`;
