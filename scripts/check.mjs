#!/usr/bin/env node
// The static checks of `npm test`, run side by side (the type checker and the linter each keep one core
// busy for a while; `lint` also checks the import walls, scripts/check-imports.mjs): exits non-zero,
// with every output, if any fails.
import { spawn } from 'node:child_process';

const run = (command, args) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => resolve({ name: command, code: 1, output: String(error) }));
    child.on('close', (code) => resolve({ name: args.at(-1) ?? command, code: code ?? 1, output }));
  });

const results = await Promise.all([
  run('npm', ['run', '--silent', 'typecheck']),
  run('npm', ['run', '--silent', 'lint']),
]);
for (const { name, code, output } of results) {
  process.stdout.write(`${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`}\n${output}`);
}
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
