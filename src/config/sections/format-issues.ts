import type { z } from 'zod';
import { closest } from '../../lib/closest-name.js';

/** One problem in a configuration: the dotted path as written in YAML, and what is wrong there. */
export interface ConfigIssue {
  path: string;
  message: string;
}

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

interface SchemaDef {
  type?: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The object schemas a value at `path` may be checked against (several below a union). */
function objectsAt(schema: z.ZodType, path: readonly PropertyKey[], depth = 0): SchemaDef[] {
  if (depth > 64) return [];
  const def = defOf(schema);
  const next = (inner: z.ZodType | undefined, rest = path) => (inner ? objectsAt(inner, rest, depth + 1) : []);
  switch (def.type) {
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'catch': case 'nonoptional':
      return next(def.innerType);
    case 'pipe':
      return next(def.in);
    case 'lazy':
      return next(def.getter?.());
    case 'union':
      return (def.options ?? []).flatMap((option) => next(option));
    case 'intersection':
      return [...next(def.left), ...next(def.right)];
    default:
      break;
  }
  if (path.length === 0) return def.type === 'object' ? [def] : [];
  const [head, ...rest] = path;
  if (def.type === 'object' && typeof head === 'string') return next(def.shape?.[head], rest);
  if (def.type === 'array' && typeof head === 'number') return next(def.element, rest);
  if (def.type === 'record') return next(def.valueType, rest);
  return [];
}

/** Every key a mapping at `path` may hold, from the schema (empty when the schema is not known there). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((def) => Object.keys(def.shape ?? {})))];
}

const ZOD_UNRECOGNIZED = /^Unrecognized keys?:/;

/**
 * One issue per problem, in the order zod reported them, so a config error reads
 * `apps[2].policies[0].require[1]: unknown selector "grop"`. An unknown key is named by its full path
 * (`server.listen.portt`), with the nearest known key when `schema` is given: a typo is the usual cause.
 * Pass a `prefix` (e.g. `access`) when the schema was parsed below the document root.
 */
export function configIssues(error: z.ZodError, prefix: readonly PropertyKey[] = [], schema?: z.ZodType): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'unrecognized_keys') return [{ path: formatIssuePath(path), message: issue.message }];
    // A schema's own wording names the key itself (`require[1]: unknown selector "grop"`): kept as it is.
    if (!ZOD_UNRECOGNIZED.test(issue.message)) return [{ path: formatIssuePath(path), message: issue.message }];
    const known = schema ? knownKeysAt(schema, issue.path) : [];
    return issue.keys.map((key) => {
      const suggestion = closest(key, known.filter((k) => !issue.keys.includes(k)));
      return { path: formatIssuePath([...path, key]), message: `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}` };
    });
  });
}

/** The issues as `path: message` lines. */
export function formatConfigIssues(error: z.ZodError, prefix: readonly PropertyKey[] = [], schema?: z.ZodType): string {
  return configIssues(error, prefix, schema).map(({ path, message }) => `${path}: ${message}`).join('\n');
}
