import { isGatehouseError } from '../lib/errors.js';
import { ConfigError } from '../config/index.js';
import type { CliContext, TextSink } from './cli-context.js';

/** Writes data as JSON (`--json`) or as human text. */
export function emit(cli: CliContext, json: boolean | undefined, data: unknown, human: () => string): void {
  cli.io.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((row) => row[index]!.length)));
  const line = (values: string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

export function isoTime(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Reports a failed command on stderr and returns its exit code: 2 for bad usage or configuration,
 * 1 for a refused operation or a runtime failure.
 */
export function reportFailure(stderr: TextSink, error: unknown): number {
  if (error instanceof ConfigError) {
    stderr.write(`gatehouse: ${error.message}\n`);
    return 2;
  }
  if (isGatehouseError(error)) {
    stderr.write(`gatehouse: ${error.publicMessage}${error.detail && error.detail !== error.publicMessage ? ` (${error.detail})` : ''} [${error.code}]\n`);
    return error.status === 400 ? 2 : 1;
  }
  stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
