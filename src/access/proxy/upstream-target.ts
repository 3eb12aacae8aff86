import { normalizeRequestPath, pathRefusalOf, type PathRefusal } from '../policy/index.js';
import { originFormOf } from './reject-smuggling.js';

/**
 * The request target sent upstream: origin-form, with the path in the canonical form the policy
 * engine matched (`/public/../admin` is sent as `/admin`, `/%61dmin` as `/admin`), and the query as
 * received. Forwarding a different form than the one evaluated would let a path rule be bypassed by
 * any upstream that normalizes differently. Null when the path is refused (an encoded `/`, a
 * backslash, `;` parameters, a trailing dot, an NTFS stream...): upstreamTargetRefusalOf says why.
 */
export function upstreamTargetOf(requestTarget: string): string | null {
  const target = originFormOf(requestTarget);
  const path = normalizeRequestPath(target);
  if (path === null) return null;
  let queryAt = target.indexOf('?');
  const hashAt = target.indexOf('#');
  if (hashAt >= 0 && (queryAt < 0 || hashAt < queryAt)) queryAt = -1;
  const pathEnd = queryAt >= 0 ? queryAt : hashAt >= 0 ? hashAt : target.length;
  // Common case, already canonical: send the target as received (no new string).
  if (path.length === pathEnd && hashAt < 0 && target.startsWith(path)) return target;
  if (queryAt < 0) return path;
  const queryEnd = hashAt > queryAt ? hashAt : target.length;
  return path + target.slice(queryAt, queryEnd);
}

/** Why upstreamTargetOf refuses `requestTarget` (the code of the 400); only called once it has. */
export function upstreamTargetRefusalOf(requestTarget: string): PathRefusal {
  return pathRefusalOf(originFormOf(requestTarget)) ?? 'path_not_origin_form';
}
