/**
 * Deployment configuration, read from the function's environment. The stacks set these in AWS and
 * the local platform sets the same names; nothing here knows which world it runs in.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`missing required environment variable ${name}`);
  return value;
}

export function optionalEnv(name: string): string | undefined {
  return process.env[name] || undefined;
}
