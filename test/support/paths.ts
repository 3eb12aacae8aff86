import { join } from 'node:path';

/** The repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname;

/** Where every run's transpiled tree lives; each run builds its own folder below it. */
export const TEST_BUILDS = join(ROOT, '.test-build');

/**
 * `src/` and the test helpers transpiled once per test run by `test/global-setup.ts`, laid out as in the
 * repository (with a link to `assets/`, so the sources' relative paths to it hold). Child processes run
 * this JavaScript instead of compiling TypeScript with tsx on every start. The folder is per run (the
 * setup names it in the environment its workers inherit), so two runs at once never share one.
 */
export function testBuildDir(): string {
  const dir = process.env.GATEHOUSE_TEST_BUILD;
  if (!dir) throw new Error('GATEHOUSE_TEST_BUILD is not set: run the tests through vitest (test/global-setup.ts builds the tree)');
  return dir;
}

/** The built JavaScript of a repository file, e.g. `builtPath('src/cli/bin.ts')`. */
export function builtPath(repoPath: string): string {
  return join(testBuildDir(), repoPath.replace(/\.ts$/, '.js'));
}

export const builtCli = (): string => builtPath('src/cli/bin.ts');
