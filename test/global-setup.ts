/**
 * Once per `vitest run`: transpile `src/` and the test helpers (not the tests) into a folder of this
 * run's own below `.test-build/`, with esbuild, so tests that start the CLI, a second server or a worker
 * as a separate process run plain JavaScript (a fraction of a second to load) instead of compiling
 * TypeScript with tsx on every start (seconds each on a busy two-core machine).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
    // Keep `with { type: 'json' }` on JSON imports: Node refuses a JSON module without it.
    supported: { 'import-attributes': true },
    sourcemap: 'inline',
    logLevel: 'error',
  });
  // Data files imported from code (`import … with { type: 'json' }`, e.g. the lookalike model's
  // weights) are not transpiled: copy them beside the JavaScript that imports them, as tsc's build does.
  for (const file of readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'))) {
    const target = join(dir, 'src', file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(ROOT, 'src', file), target);
  }
  // The test workers are started after this and inherit the environment.
  process.env.GATEHOUSE_TEST_BUILD = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
