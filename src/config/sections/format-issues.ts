import type { z } from 'zod';

/** Renders a zod path the way people write it in YAML docs: `apps[2].policies[0].require[1]`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * One `path: message` line per zod issue, in the order zod reported them, so a config error reads
 * `apps[2].policies[0].require[1]: unknown selector "grop"`. Pass a `prefix` (e.g. `access`) when
 * the schema was parsed below the document root.
 */
export function formatConfigIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  return error.issues.map((issue) => `${formatIssuePath([...prefix, ...issue.path])}: ${issue.message}`).join('\n');
}
