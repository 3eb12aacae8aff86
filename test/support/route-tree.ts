/**
 * Routes of a running Gatehouse read from fastify's printed route tree (`printRoutes({ commonPrefix:
 * false })`), so a refusal suite walks every route that exists, including ones added after it was
 * written, instead of a list someone must remember to extend.
 */
export interface RouteEntry {
  method: string;
  path: string;
}

export function parseRouteTree(tree: string): RouteEntry[] {
  const stack: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of tree.split('\n')) {
    const branch = line.search(/[├└]── /);
    if (branch < 0) continue;
    const depth = Math.round(branch / 4);
    const rest = line.slice(branch + 4);
    const match = /^(\S+)(?: \(([^)]*)\))?/.exec(rest);
    if (!match) continue;
    const segment = match[1]!;
    const parent = depth > 0 ? (stack[depth - 1] ?? '') : '';
    const path = parent.endsWith('/') && segment.startsWith('/') ? parent + segment.slice(1) : parent + segment;
    stack.length = depth;
    stack[depth] = path;
    for (const method of (match[2] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) routes.push({ method, path });
  }
  return routes;
}

/** A concrete URL for a route: each `:param` replaced by `value`, a wildcard by `value`. */
export function concretePath(path: string, value = 'x'): string {
  return path.replace(/:[A-Za-z_]+/g, value).replace(/\*$/, value);
}
