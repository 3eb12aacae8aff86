/**
 * Once per `vitest run`: transpile `src/` and the test helpers (not the tests) into a folder of this
 * run's own below `.test-build/`, with esbuild, so tests that start the CLI, a second server or a worker
 * as a separate process run plain JavaScript (a fraction of a second to load) instead of compiling
 * TypeScript with tsx on every start (seconds each on a busy two-core machine).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT, TEST_BUILDS } from './support/paths.js';

function sourcesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(ROOT, folder, file));
}

export default async function setup(): Promise<() => void> {
  mkdirSync(TEST_BUILDS, { recursive: true });
  const dir = mkdtempSync(join(TEST_BUILDS, 'run-'));
  // src/ reaches assets/ by relative path (the RDAP bootstrap file, the portal's scripts and styles).
  symlinkSync(join(ROOT, 'assets'), join(dir, 'assets'));
  await build({
    entryPoints: [...sourcesUnder('src'), ...sourcesUnder('test')],
    outdir: dir,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
  // The test workers are started after this and inherit the environment.
  process.env.GATEHOUSE_TEST_BUILD = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
