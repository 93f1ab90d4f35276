/**
 * A tiny HTTP client for the platform's own seeding and for tests: JSON in, status + JSON out.
 * It goes through the router like any other client.
 */
export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

// biome-ignore lint/suspicious/noExplicitAny: test ergonomics — a caller that names no body type reads the JSON it expects without a cast at every field.
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(new URL(path, baseUrl), { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text so a failing assertion shows what came back.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Signs in; `newPassword` completes a first sign-in with a temporary password. */
export async function signIn(baseUrl: string, username: string, password: string, newPassword?: string): Promise<string> {
  const response = await call<{ access_token?: string }>(baseUrl, 'POST', '/auth/token', {
    body: { username, password, ...(newPassword ? { newPassword } : {}) },
  });
  if (response.status !== 200 || !response.body.access_token) {
    throw new Error(`sign-in as ${username} failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body.access_token;
}

export interface OnboardedTenant {
  tenantId: string;
  name: string;
  tier: string;
  cellId: string;
  username: string;
  /** The password the admin chose at first sign-in. */
  password: string;
  /** The admin's access token from that sign-in. */
  token: string;
}

/**
 * What an operator and a new tenant admin do on day one: `POST /admin/tenants`, then the admin's
 * first sign-in, trading the temporary password for `adminPassword`.
 */
export async function onboardTenant(
  baseUrl: string,
  operatorToken: string,
  tenant: { name: string; tier: string; adminEmail: string },
  adminPassword: string,
): Promise<OnboardedTenant> {
  const response = await call(baseUrl, 'POST', '/admin/tenants', { token: operatorToken, body: tenant });
  if (response.status !== 201) throw new Error(`onboarding ${tenant.name} failed: ${response.status} ${JSON.stringify(response.body)}`);
  const { tenantId, cellId, admin } = response.body as { tenantId: string; cellId: string; admin: { username: string; temporaryPassword: string } };
  const token = await signIn(baseUrl, admin.username, admin.temporaryPassword, adminPassword);
  return { tenantId, name: tenant.name, tier: tenant.tier, cellId, username: admin.username, password: adminPassword, token };
}
