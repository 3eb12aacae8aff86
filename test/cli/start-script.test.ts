/**
 * scripts/start.mjs (`npm start`) on a small project of the same shape: it builds when dist/ is missing
 * or a source changed, says so while it builds, skips the build when nothing changed (by content: a
 * touched file with the same bytes is no change), never stamps a failed build, and then runs
 * `dist/cli/bin.js serve --demo` with any extra arguments.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
let project: string;

function start(args: string[] = ['--build-only']): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(project, 'scripts', 'start.mjs'), ...args], { cwd: project, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const BIN = "console.log(JSON.stringify(process.argv.slice(2)));\n";

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
  mkdirSync(join(project, 'scripts'));
  mkdirSync(join(project, 'src', 'cli'), { recursive: true });
  copyFileSync(join(root, 'scripts', 'start.mjs'), join(project, 'scripts', 'start.mjs'));
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
  writeFileSync(join(project, 'package-lock.json'), '{}\n');
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], strict: true, outDir: 'dist', rootDir: 'src', noEmit: true, skipLibCheck: true }, include: ['src/**/*.ts'] }),
  );
  writeFileSync(join(project, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: false } }));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(project, 'src', 'cli', 'bin.ts'), BIN);
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('npm start (scripts/start.mjs)', () => {
  it('builds a fresh clone with a progress line, then skips the build while nothing changed', async () => {
    const first = await start();
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('Building Gatehouse');
    expect(first.stderr).toMatch(/Built in [\d.]+ s\./);
    expect(existsSync(join(project, 'dist', 'cli', 'bin.js'))).toBe(true);
    const builtAt = statSync(join(project, 'dist', 'cli', 'bin.js')).mtimeMs;

    const second = await start();
    expect(second.stderr).toContain('up to date');
    expect(second.stderr).not.toContain('Building');
    expect(statSync(join(project, 'dist', 'cli', 'bin.js')).mtimeMs).toBe(builtAt);

    // Same bytes, new mtime (a checkout, a copy): still up to date.
    utimesSync(join(project, 'src', 'cli', 'bin.ts'), new Date(), new Date(Date.now() + 5000));
    expect((await start()).stderr).toContain('up to date');
  }, 240_000);

  it('rebuilds when a source or the lock file changes, and a failed build is never stamped', async () => {
    writeFileSync(join(project, 'src', 'cli', 'bin.ts'), `${BIN}console.log('changed');\n`);
    expect((await start()).stderr).toContain('Building');
    expect(readFileSync(join(project, 'dist', 'cli', 'bin.js'), 'utf8')).toContain('changed');

    writeFileSync(join(project, 'package-lock.json'), '{ "lockfileVersion": 3 }\n');
    expect((await start()).stderr).toContain('Building');

    writeFileSync(join(project, 'src', 'cli', 'bin.ts'), 'const broken: number = "text";\n');
    const failed = await start();
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('Build failed');
    // Back to the sources of the last good build: dist/ holds the failed build's output, so build again.
    writeFileSync(join(project, 'src', 'cli', 'bin.ts'), `${BIN}console.log('changed');\n`);
    expect((await start()).stderr).toContain('Building');
    writeFileSync(join(project, 'src', 'cli', 'bin.ts'), BIN);
    expect((await start()).stderr).toContain('Building');
  }, 240_000);

  it('then runs dist/cli/bin.js serve --demo with the extra arguments', async () => {
    const run = await start(['--config', 'x.yaml']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual(['serve', '--demo', '--config', 'x.yaml']);
  }, 120_000);
});
