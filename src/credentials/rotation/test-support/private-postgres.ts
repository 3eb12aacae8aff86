/**
 * A throwaway PostgreSQL cluster that checks passwords (scram-sha-256 on 127.0.0.1), for probes that
 * must see a wrong password refused. The shared test server trusts every local login, so a wrong
 * password would succeed there. Needs root (to run initdb as the `postgres` user) and the server
 * binaries; returns undefined, with the reason, when either is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PrivatePostgres {
  /** Superuser over the Unix socket (trust): the admin channel. */
  adminUrl: string;
  /** TCP on 127.0.0.1, scram-sha-256: where probes log in. */
  probeUrl: string;
  /** Everything the server logged (log_statement = all). */
  log(): string;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], user: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { uid: user.uid, gid: user.gid, stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres | string> {
  if (process.getuid?.() !== 0) return 'not root: cannot run initdb as the postgres user';
  const user = postgresUser();
  const bin = binDir();
  if (!user || !bin) return 'no postgres user or server binaries';
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-N'], user);
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
      '-c', 'log_statement=all', '-c', 'logging_collector=off', '-c', `log_destination=stderr`],
    { uid: user.uid, gid: user.gid, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } },
  );
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const adminUrl = `postgres://postgres@localhost:${port}/postgres?host=${encodeURIComponent(dir)}`;
  const stop = async () => {
    server.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const client = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return { adminUrl, probeUrl: `postgres://127.0.0.1:${port}/postgres`, log: () => log, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await stop();
  return 'the private cluster did not start';
}

/** Logs in with the real PostgreSQL client: `ok`, or the SQLSTATE of the refusal (28P01: wrong password). */
export async function postgresLogin(url: string, role: string, password: string): Promise<string> {
  const parsed = new URL(url);
  const client = new pg.Client({ host: parsed.hostname, port: Number(parsed.port), database: parsed.pathname.slice(1), user: role, password });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
}
