// Route matching as API Gateway's HTTP API does it: literal segments, `{name}`, a final greedy `{name+}`,
// the most specific route winning (literals before parameters before greedy, a method before ANY).

export interface LocalRoute {
  /** An HTTP method, or ANY. */
  method: string;
  /** API Gateway route syntax: literal segments, `{name}` and a final greedy `{name+}`. */
  path: string;
  /** The handler module (exports `handler`), relative to `rootDir` unless absolute. */
  entry: string;
  /** Skips the JWT authorizer (the OAuth callback). */
  public?: true;
  id: string;
  /** Authorization scopes: the token must carry at least one of them. */
  scopes?: readonly string[];
  /** The function's timeout (default: the integration timeout), as the deployed route's Lambda has it. */
  timeoutSeconds?: number;
}

export interface RouteMatch {
  route: LocalRoute;
  /** `METHOD /path/{template}`, as API Gateway names the route in events and logs. */
  routeKey: string;
  /** Decoded path parameters by name. */
  params: Record<string, string>;
}

interface CompiledRoute {
  route: LocalRoute;
  routeKey: string;
  segments: readonly string[];
  /** Literal segments before parameters, so the most specific route wins as in API Gateway. */
  rank: readonly number[];
}

function compile(route: LocalRoute): CompiledRoute {
  const segments = route.path.split("/").slice(1);
  const rank = segments.map((s) => (s.endsWith("+}") ? 0 : s.startsWith("{") ? 1 : 2));
  return { route, routeKey: `${route.method} ${route.path}`, segments, rank };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchPath(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < compiled.segments.length; i++) {
    const template = compiled.segments[i] ?? "";
    const part = parts[i];
    if (template.startsWith("{") && template.endsWith("+}")) {
      if (part === undefined || part === "") return undefined;
      params[template.slice(1, -2)] = decodeSegment(parts.slice(i).join("/"));
      return params;
    }
    if (part === undefined) return undefined;
    if (template.startsWith("{") && template.endsWith("}")) {
      if (part === "") return undefined;
      params[template.slice(1, -1)] = decodeSegment(part);
    } else if (template !== part) {
      return undefined;
    }
  }
  return parts.length === compiled.segments.length ? params : undefined;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (b[i] ?? -1) - (a[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Compiles the table once; the router answers the best match for a method and raw path, or undefined. */
export function createRouter(
  routes: readonly LocalRoute[],
): (method: string, rawPath: string) => RouteMatch | undefined {
  const compiled = routes.map(compile);
  return (method, rawPath) => {
    const parts = rawPath.split("/").slice(1);
    const best = compiled
      .filter((c) => c.route.method === method || c.route.method === "ANY")
      .map((c) => ({ c, params: matchPath(c, parts) }))
      .filter((m): m is { c: CompiledRoute; params: Record<string, string> } => m.params !== undefined)
      .sort(
        (a, b) =>
          compareRank(a.c.rank, b.c.rank) ||
          (a.c.route.method === "ANY" ? 1 : 0) - (b.c.route.method === "ANY" ? 1 : 0),
      )[0];
    return best && { route: best.c.route, routeKey: best.c.routeKey, params: best.params };
  };
}
