#!/usr/bin/env node
import { processIo } from './cli-context.js';
import { runCli } from './run-cli.js';

const code = await runCli(process.argv.slice(2), processIo());
// A failed command exits at once (it may hold a half-open store); a successful one lets the event loop
// drain, so `serve` keeps running and piped output is flushed.
if (code !== 0) process.exit(code);
