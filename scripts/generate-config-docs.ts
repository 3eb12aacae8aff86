/**
 * Writes docs/configuration.md from the config schema: every key with its type, default and the
 * description written next to it in src/config/sections/*.ts (documented once, in code).
 * `npm run docs:config` regenerates it; a test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { gatehouseConfigSchema } from '../src/config/schema.js';
import { RESTART_ONLY_KEYS } from '../src/restart-only-keys.js';

type Json = Record<string, unknown>;

function typeOf(schema: Json): string {
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map(typeOf).join(' \\| ');
  if (schema.type === 'array') return `list of ${typeOf((schema.items as Json) ?? {})}`;
  if (schema.type === 'integer') {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` ${schema.minimum}–${schema.maximum}` : '';
    return `integer${range}`;
  }
  if (typeof schema.type === 'string') return schema.type;
  return 'value';
}

/** The object variants of a `oneOf`/`anyOf` (a discriminated union), each labelled by its `type` constant. */
function variantsOf(schema: Json): { label: string; schema: Json }[] {
  const options = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  if (!Array.isArray(options)) return [];
  return options
    .filter((option) => option.type === 'object' && option.properties)
    .map((option) => {
      const tag = ((option.properties as Record<string, Json>).type ?? {}).const;
      return { label: tag === undefined ? '' : `(type: ${String(tag)}) `, schema: option };
    });
}

/** An object's own keys, the entries of a map (`additionalProperties`, as `name.<name>`), and each variant of a union. */
function nested(schema: Json, path: string, out: string[], label = ''): void {
  if (schema.properties) rows(schema, path, out, label);
  const entry = schema.additionalProperties;
  if (entry && typeof entry === 'object') nested(entry as Json, `${path}.<name>`, out, label);
  for (const variant of variantsOf(schema)) rows(variant.schema, path, out, `${label}${variant.label}`);
}

function rows(schema: Json, path: string, out: string[], label = ''): void {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, child] of Object.entries(properties)) {
    const here = path ? `${path}.${key}` : key;
    const fallback = child.default !== undefined ? `\`${JSON.stringify(child.default)}\`` : required.has(key) ? '**required**' : '—';
    const description = `${label}${String(child.description ?? '')}`.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const isObject = child.type === 'object' && child.properties;
    const entry = child.additionalProperties as Json | undefined;
    const isMapOrUnion = !isObject && ((typeof entry === 'object' && (entry.properties !== undefined || variantsOf(entry).length > 0)) || variantsOf(child).length > 0);
    const items = child.type === 'array' ? (child.items as Json | undefined) : undefined;
    out.push(`| \`${here}\` | ${isObject ? 'section' : isMapOrUnion ? (child.type === 'object' ? 'map' : 'one of') : typeOf(child)} | ${(isObject || isMapOrUnion) && child.default !== undefined ? 'see below' : fallback} | ${description} |`);
    if (isObject) rows(child, here, out, label);
    else if (isMapOrUnion) nested(child, here, out, label);
    if (items?.type === 'object' && items.properties) rows(items, `${here}[]`, out);
  }
}

export function configurationMarkdown(): string {
  const schema = z.toJSONSchema(gatehouseConfigSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const out = [
    '# Configuration reference',
    '',
    'Gatehouse reads one YAML file (`gatehouse.yaml`, or `--config FILE`, or `$GATEHOUSE_CONFIG`). Unknown keys',
    'and bad values are refused with the path of each problem (`gatehouse config check FILE`). The file is',
    'reloaded when it changes and on SIGHUP; a file that does not validate is refused and the running',
    'configuration stays in force.',
    '',
    'A reload applies every key without a restart: each capability builds its new state aside and swaps it',
    'in whole; if one cannot (a blocklist file that cannot be read, a DNS port already taken), the file is',
    'refused and the previous configuration stays in force everywhere. These keys take effect only after a',
    'restart; the reload log line names each one that changed (`server.http changed: takes effect after a',
    'restart`) and `gatehouse config check` lists them:',
    '',
    ...RESTART_ONLY_KEYS.map((key) => `- \`${key.path}\`: ${key.reason}.`),
    '',
    'Secrets stay out of the file: any string value written as `${env:NAME}` is replaced by that environment',
    'variable (for example `url: ${env:GATEHOUSE_DATABASE_URL}`).',
    '',
    'Generated from the schema in `src/config/` by `npm run docs:config`; do not edit by hand.',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
  ];
  rows(schema, '', out);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
  writeFileSync(target, configurationMarkdown());
  process.stdout.write(`wrote ${target}\n`);
}
