/**
 * Evaluates the IAM policy an authorizer returned against the method ARN being called, as API
 * Gateway does: an explicit Deny wins, otherwise an Allow must match, otherwise access is denied.
 */
interface AuthorizerStatement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Compiled patterns: a policy is evaluated on every request, cached or not, so each costs one compile. */
const compiled = new Map<string, RegExp>();

function wildcard(pattern: string, flags = ''): RegExp {
  const cacheKey = `${flags}:${pattern}`;
  let regex = compiled.get(cacheKey);
  if (!regex) {
    const escaped = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${escaped}$`, flags);
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(cacheKey, regex);
  }
  return regex;
}

function applies(statement: AuthorizerStatement, methodArn: string): boolean {
  const actions = asList(statement.Action);
  // IAM action names are case-insensitive and may use wildcards (`execute-api:*`, `*`).
  const actionMatches = actions.some((action) => wildcard(action, 'i').test('execute-api:Invoke'));
  return actionMatches && asList(statement.Resource).some((resource) => wildcard(resource).test(methodArn));
}

export function isAllowed(policyDocument: unknown, methodArn: string): boolean {
  const statements = (policyDocument as { Statement?: unknown } | undefined)?.Statement;
  const list: AuthorizerStatement[] = Array.isArray(statements) ? statements : statements ? [statements as AuthorizerStatement] : [];
  if (list.some((s) => s.Effect === 'Deny' && applies(s, methodArn))) return false;
  return list.some((s) => s.Effect === 'Allow' && applies(s, methodArn));
}
