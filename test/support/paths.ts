import { join } from 'node:path';

/** The repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * `src/` and the test helpers transpiled once per test run by `test/global-setup.ts`, laid out as in the
 * repository (with a link to `assets/`, so the sources' relative paths to it hold). Child processes run
 * this JavaScript instead of compiling TypeScript with tsx on every start.
 */
export const TEST_BUILD = join(ROOT, '.test-build');

/** The built JavaScript of a repository file, e.g. `builtPath('src/cli/bin.ts')`. */
export function builtPath(repoPath: string): string {
  return join(TEST_BUILD, repoPath.replace(/\.ts$/, '.js'));
}

export const BUILT_CLI = builtPath('src/cli/bin.ts');
