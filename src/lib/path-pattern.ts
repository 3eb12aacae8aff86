/**
 * Compiles a `path` selector's patterns once. Without glob characters a pattern is a prefix that
 * respects segment boundaries: `/admin` covers `/admin` and `/admin/x` but not `/administrator`
 * (a plain string prefix would quietly widen an allow). With globs the whole path must match:
 * `*` and `?` stay within one segment, `**` crosses segments, and "**" followed by "/" also matches zero segments.
 */
export type PathMatcher = (canonicalPath: string) => boolean;

export function isGlobPattern(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Why a pattern cannot be used, or undefined when it is fine (used by the config schema). */
export function pathPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return `path "${pattern}" must start with "/"`;
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/.test(pattern)) return `path "${pattern}" has characters that must be percent-encoded`;
  if (/%(?![0-9A-F]{2})/.test(pattern)) return `path "${pattern}" has a malformed or lower-case percent escape`;
  if (/%(2F|5C|00)/.test(pattern)) return `path "${pattern}" encodes "/", "\\" or NUL, which requests may not contain`;
  if (/%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/.test(pattern)) return `path "${pattern}" percent-encodes an unreserved character; write it plainly`;
  const segments = pattern.split('/').slice(1);
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1))) {
    return `path "${pattern}" has "." or ".." or empty segments; write the canonical path`;
  }
  if (/\*\*\*/.test(pattern)) return `path "${pattern}": "***" is ambiguous`;
  return undefined;
}

function globToRegExpSource(pattern: string): string {
  // Repeated "**/" would nest `(?:.*/)?` groups whose backtracking grows with each one, on a path
  // the client chooses; one is equivalent, so keep one.
  const glob = pattern.replace(/(?:\*\*\/){2,}/g, '**/');
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*' && glob[i + 2] === '/') {
        // `/**/x` also covers `/x`: "**/" is zero or more whole segments.
        out += '(?:.*/)?';
        i += 2;
      } else if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export function compilePathMatcher(patterns: readonly string[]): PathMatcher {
  const prefixes = patterns.filter((p) => !isGlobPattern(p));
  const globs = patterns.filter(isGlobPattern);
  const regex = globs.length === 0 ? undefined : new RegExp(`^(?:${globs.map(globToRegExpSource).join('|')})$`);
  const n = prefixes.length;
  return (path) => {
    for (let i = 0; i < n; i++) {
      const p = prefixes[i]!;
      if (path.startsWith(p)) {
        // Segment boundary: exact, or the pattern ends with "/", or the path continues with "/".
        if (path.length === p.length || p.charCodeAt(p.length - 1) === 47 || path.charCodeAt(p.length) === 47) return true;
      }
    }
    return regex !== undefined && regex.test(path);
  };
}
