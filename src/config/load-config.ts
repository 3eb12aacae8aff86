import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { configIssues, type ConfigIssue } from './sections/format-issues.js';
import { gatehouseConfigSchema, type GatehouseConfig } from './schema.js';

/** A validated, deeply frozen configuration and where it came from. */
export interface ConfigSnapshot {
  readonly config: GatehouseConfig;
  readonly path: string;
  /** Folder of the config file: relative paths in it are resolved against this. */
  readonly baseDir: string;
  readonly loadedAt: number;
}

export class ConfigError extends Error {
  /** The problems one by one (`config check --json`): `path` is null for a YAML syntax error. */
  readonly issues: ReadonlyArray<{ path: string | null; message: string }>;

  constructor(
    readonly path: string,
    problems: string | readonly ConfigIssue[],
  ) {
    const issues = typeof problems === 'string' ? problems.split('\n').map(issueOfLine) : problems;
    const text = issues.map((issue) => (issue.path === null ? issue.message : `${issue.path}: ${issue.message}`)).join('\n');
    super(`${path} is not a valid Gatehouse configuration:\n${text}`);
    this.name = 'ConfigError';
    this.problems = text;
    this.issues = issues;
  }

  readonly problems: string;
}

function issueOfLine(line: string): { path: string | null; message: string } {
  const match = /^([^\s:]+): (.*)$/.exec(line);
  return match && match[1] !== 'YAML' ? { path: match[1]!, message: match[2]! } : { path: null, message: line };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

const ENV_REFERENCE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Secrets stay out of the file: a string value `${env:NAME}` is replaced by that environment variable.
 * A missing variable is an error naming the config path (never its value).
 */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    const match = ENV_REFERENCE.exec(value);
    if (!match) return value;
    const name = match[1] as string;
    const resolved = env[name];
    if (resolved === undefined) problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
    return resolved ?? value;
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, `${path}[${index}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, substituteEnv(child, env, path ? `${path}.${key}` : key, problems)]),
    );
  }
  return value;
}

/** Parses and validates YAML text; throws ConfigError listing every problem with its path. */
export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(path, document.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`).join('\n'));
  }
  const raw = document.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(path, '(root): expected a mapping of sections (server:, webauthn:, ...)');
  }
  const problems: string[] = [];
  const substituted = substituteEnv(raw, env, '', problems);
  if (problems.length > 0) throw new ConfigError(path, problems.join('\n'));
  const result = gatehouseConfigSchema.safeParse(substituted);
  if (!result.success) throw new ConfigError(path, configIssues(result.error as z.ZodError, [], gatehouseConfigSchema));
  return result.data;
}

export function loadConfigFile(path: string, options: { env?: NodeJS.ProcessEnv; now?: number } = {}): ConfigSnapshot {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(absolute, `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const config = parseConfig(text, absolute, options.env);
  return deepFreeze({ config, path: absolute, baseDir: dirname(absolute), loadedAt: options.now ?? Date.now() });
}
