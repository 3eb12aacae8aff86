import { isGatehouseError } from '../lib/errors.js';
import { ConfigError } from '../config/index.js';
import type { CliContext, TextSink } from './cli-context.js';
import { jsonStyle } from './json-style.js';

/** Writes data as JSON (`--json`, in the one style of docs/cli.md) or as human text. */
export function emit(cli: CliContext, json: boolean | undefined, data: unknown, human: () => string): void {
  cli.io.stdout.write(json ? `${JSON.stringify(jsonStyle(data), null, 2)}\n` : `${human()}\n`);
}

/** One JSON line (`--json` of commands that stream, such as `audit query` and `domain check`). */
export function jsonLine(data: unknown): string {
  return JSON.stringify(jsonStyle(data));
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (value: unknown) => (Array.isArray(value) ? value.join(' ') : value === null || value === undefined ? '-' : String(value));
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((row) => row[index]!.length)));
  const line = (values: string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** A time for people: ISO 8601 to the second, `-` when there is none (JSON output turns `-` into null). */
export function isoTime(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The one line an error prints. A not-found error's detail is its subject, already in the sentence;
 * a detail is added only when it says something the message does not.
 */
export function errorLine(message: string, detail: string | undefined, code: string): string {
  const sentence = message.trim();
  const extra = detail !== undefined && detail.trim() !== '' && !sentence.includes(detail.trim()) ? ` (${detail.trim()})` : '';
  return `gatehouse: ${sentence}${extra} [${code}]`;
}

/**
 * Reports a failed command on stderr and returns its exit code (README, docs/cli.md): 2 for bad usage
 * or configuration, 1 for a refused operation or a runtime failure.
 */
export function reportFailure(stderr: TextSink, error: unknown): number {
  if (error instanceof ConfigError) {
    stderr.write(`gatehouse: ${error.message}\n`);
    return 2;
  }
  if (isGatehouseError(error)) {
    stderr.write(`${errorLine(error.publicMessage, error.detail, error.code)}\n`);
    return error.status === 400 ? 2 : 1;
  }
  stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
