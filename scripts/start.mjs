#!/usr/bin/env node
// `npm start`: build only when the sources changed, show that a build is running, then `serve --demo`.
//
// A fingerprint (SHA-256 over the contents of src/**/*.ts and *.json, package-lock.json and tsconfig*.json, and the
// Node and TypeScript versions) is kept in dist/.build-stamp after a successful build; when it matches,
// the build is skipped. Contents, not mtimes: a checkout or a copy changes mtimes without changing code,
// and an editor may save the same bytes. When a build is needed, tsc runs with --incremental (its
// .tsbuildinfo lives in dist/, so deleting dist/ forces a clean build), which re-checks only what changed.
// `--build-only` builds (or skips) and exits: used by the test of this script.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-stamp');
const buildOnly = process.argv.includes('--build-only');

function sourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    // JSON too: data files imported from code (the lookalike model's weights) are part of the build.
    else if ((entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) || entry.name.endsWith('.json')) files.push(path);
  }
  return files;
}

function fingerprint() {
  const hash = createHash('sha256');
  hash.update(`node ${process.version}\n`);
  const tsPackage = join(root, 'node_modules', 'typescript', 'package.json');
  hash.update(`typescript ${existsSync(tsPackage) ? JSON.parse(readFileSync(tsPackage, 'utf8')).version : 'missing'}\n`);
  const inputs = [
    ...sourceFiles(join(root, 'src')),
    ...['package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map((name) => join(root, name)).filter((path) => existsSync(path)),
  ].sort();
  for (const path of inputs) {
    hash.update(`${relative(root, path)}\0`);
    hash.update(readFileSync(path));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function upToDate(expected) {
  if (!existsSync(join(dist, 'cli', 'bin.js')) || !existsSync(stampFile)) return false;
  return readFileSync(stampFile, 'utf8').trim() === expected;
}

/** Runs tsc, with an elapsed-time line so a first build (about a minute on two cores) is never silent. */
function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-p', join(root, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', join(dist, '.tsbuildinfo')];
  const started = Date.now();
  const tty = process.stderr.isTTY;
  const first = !existsSync(join(dist, '.tsbuildinfo'));
  process.stderr.write(`Building Gatehouse (tsc${first ? ', first build: about a minute' : ', changed files only'})…${tty ? '' : '\n'}`);
  const tick = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    if (tty) process.stderr.write(`\rBuilding Gatehouse (tsc${first ? ', first build: about a minute' : ', changed files only'})… ${seconds} s `);
    else if (seconds % 10 === 0) process.stderr.write(`  still building… ${seconds} s\n`);
  }, 1000);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => {
      clearInterval(tick);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(`${tty ? '\n' : ''}${code === 0 ? `Built in ${seconds} s.` : `Build failed (tsc exit ${code}).`}\n`);
      resolve(code ?? 1);
    });
  });
}

const expected = fingerprint();
if (upToDate(expected)) {
  process.stderr.write('dist/ is up to date with src/ (no build needed).\n');
} else {
  // tsc writes output even when it reports errors: a failed build must leave no stamp behind, or going
  // back to the last stamped sources would run that half-built output.
  rmSync(stampFile, { force: true });
  const code = await build();
  if (code !== 0) process.exit(code);
  writeFileSync(stampFile, `${expected}\n`);
}
if (!buildOnly) {
  process.argv = [process.argv[0], join(dist, 'cli', 'bin.js'), 'serve', '--demo', ...process.argv.slice(2)];
  await import(pathToFileURL(join(dist, 'cli', 'bin.js')).href);
}
