/**
 * A setting a running process cannot apply (a listener's port, the database it opened) is named by
 * its dotted config path in the restart-only list of the capability that reads it. On a reload, each
 * such path whose value differs is reported instead of being silently ignored.
 */
export interface RestartOnlyKey {
  /** Dotted config path, e.g. `server.http.port`; a section (`database`) covers all its keys. */
  path: string;
  /** Why a running process cannot apply it (shown by `gatehouse config check`). */
  reason: string;
}

/** One line per restart-only path whose value differs between the two configs. */
export function restartOnlyChanges(previous: unknown, next: unknown, keys: readonly RestartOnlyKey[]): string[] {
  return keys
    .filter((key) => JSON.stringify(valueAt(previous, key.path)) !== JSON.stringify(valueAt(next, key.path)))
    .map((key) => `${key.path} changed: takes effect after a restart`);
}

function valueAt(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
