import { ownRecord } from '@cellbook/core/shared/own-record';

/** API Gateway resource matching: literal segments win over `{param}` segments. */
export interface MatchableRoute {
  method: string;
  path: string;
}

export interface RouteMatch<R extends MatchableRoute> {
  route: R;
  pathParameters: Record<string, string>;
}

export function matchRoute<R extends MatchableRoute>(routes: readonly R[], method: string, path: string): RouteMatch<R> | undefined {
  const segments = path.split('/').filter(Boolean);
  let best: { match: RouteMatch<R>; literals: number } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const template = route.path.split('/').filter(Boolean);
    if (template.length !== segments.length) continue;
    const pathParameters = ownRecord<string>();
    let literals = 0;
    let matches = true;
    for (let i = 0; i < template.length; i++) {
      const part = template[i]!;
      const actual = segments[i]!;
      if (part.startsWith('{') && part.endsWith('}')) {
        let decoded: string;
        try {
          decoded = decodeURIComponent(actual);
        } catch {
          matches = false;
          break;
        }
        pathParameters[part.slice(1, -1)] = decoded;
      } else if (part === actual) {
        literals += 1;
      } else {
        matches = false;
        break;
      }
    }
    if (matches && (!best || literals > best.literals)) best = { match: { route, pathParameters }, literals };
  }
  return best?.match;
}
