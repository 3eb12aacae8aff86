/**
 * Real peers the tests talk to (PostgreSQL, Chromium, sshd, dig, ...). Where one is missing the test
 * is skipped with a clear line on stderr, so `npm test` passes on a fresh machine; with
 * GATEHOUSE_REQUIRE_PEERS=1 (set by .ci/run) a missing peer fails the run instead.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import net from 'node:net';

export const POSTGRES_TEST_URL = process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

function report(peer: string, why: string): false {
  if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') {
    throw new Error(`required test peer missing: ${peer} (${why})`);
  }
  process.stderr.write(`\n[SKIPPED] tests needing ${peer}: ${why}\n`);
  return false;
}

function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function havePostgres(): Promise<boolean> {
  const url = new URL(POSTGRES_TEST_URL);
  if (await tcpAnswers(url.hostname, Number(url.port || 5432))) return true;
  return report('PostgreSQL', `nothing answers at ${url.host}`);
}

/** Looks `name` up on PATH like a shell would, without starting one (no child process in a test worker). */
export function findExecutable(name: string, candidates: string[] = []): string | undefined {
  for (const path of candidates) if (existsSync(path)) return path;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here: try the next folder
    }
  }
  return undefined;
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function haveChromium(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  return report('Chromium', `${CHROMIUM_PATH} not found (apt-get install chromium)`);
}

/** A command-line peer such as `dig`, `sshd`, `ssh-keygen`, `curl`. */
export function haveCommand(name: string, candidates: string[] = []): boolean {
  if (findExecutable(name, candidates)) return true;
  return report(name, `${name} not found on PATH`);
}
