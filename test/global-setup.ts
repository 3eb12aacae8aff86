/**
 * Once per `vitest run`: transpile `src/` and the test helpers (not the tests) into `.test-build/` with
 * esbuild, so tests that start the CLI, a second server or a worker as a separate process run plain
 * JavaScript (a fraction of a second to load) instead of compiling TypeScript with tsx on every start
 * (seconds each on a busy two-core machine).
 */
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT, TEST_BUILD } from './support/paths.js';

function sourcesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(ROOT, folder, file));
}

export default async function setup(): Promise<void> {
  rmSync(TEST_BUILD, { recursive: true, force: true });
  mkdirSync(TEST_BUILD, { recursive: true });
  // src/ reaches assets/ by relative path (the RDAP bootstrap file, the portal's scripts and styles).
  symlinkSync(join(ROOT, 'assets'), join(TEST_BUILD, 'assets'));
  await build({
    entryPoints: [...sourcesUnder('src'), ...sourcesUnder('test')],
    outdir: TEST_BUILD,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
}
