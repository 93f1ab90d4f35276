import type { App } from 'sst/constructs';

/**
 * Throwaway stages: whatever `sst dev` runs, and stages named `dev` or `dev-*`. They get no deletion
 * protection and are removed with their data; every other stage keeps its tables, user pool and
 * logs when a stack is deleted.
 */
export function isDevStage(app: App): boolean {
  return app.mode === 'dev' || /^dev(?:-|$)/.test(app.stage);
}

/** `<stage>-<app>-<name>`: unique per stage in one account, and what operators search for. */
export function resourceName(app: App, ...parts: string[]): string {
  return app.logicalPrefixedName(parts.join('-'));
}
