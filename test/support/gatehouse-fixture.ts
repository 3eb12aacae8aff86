/**
 * Starts a real Gatehouse (SQLite file or PostgreSQL) with a config written to a temp folder, on a
 * free port, for in-process tests (`inject`) and real-socket tests (browser, curl, second instance).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfigFile } from '../../src/config/index.js';
import type { Clock } from '../../src/lib/clock.js';
import { startGatehouse, type RunningGatehouse, type StartOptions } from '../../src/main.js';
import { TEST_PASSWORD_HASHING } from './core-fixture.js';
import { TEST_KEY_ENCRYPTION_KEY } from './test-kek.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh PostgreSQL schema-less database for one test file: drops and recreates `name`. */
export async function freshPostgresDatabase(baseUrl: string, name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error('bad database name');
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface FixtureOptions {
  /** Organisation domain under .localhost, e.g. `acme.localhost`: the portal is `sso.<domain>`. */
  domain?: string;
  /** YAML appended to the generated config (other sections), or replacing keys via `extra`. */
  extraYaml?: string;
  legacy?: { password: boolean; totp: boolean; allowDowngrade?: boolean };
  databaseUrl?: string;
  /** Reuse a folder (second instance on the same SQLite file); default: a new temp folder. */
  dir?: string;
  port?: number;
  userVerification?: 'required' | 'preferred' | 'discouraged';
  clock?: Clock;
  watch?: boolean;
  /** `database.feed_poll_ms` (default 50: tests wait on the feed often). */
  feedPollMs?: number;
  /** Lets RDAP reach a local fixture (`RdapFixture.connection`). */
  rdapConnection?: StartOptions['rdapConnection'];
  /** An HTTPS listener beside the plain one (plain requests for the portal and apps then move to it). */
  https?: { port: number; certFile: string; keyFile: string };
}

export interface GatehouseFixture {
  gatehouse: RunningGatehouse;
  dir: string;
  configPath: string;
  port: number;
  portalOrigin: string;
  portalHost: string;
  logs: string[];
  close(): Promise<void>;
}

export function fixtureConfigYaml(options: FixtureOptions & { port: number; dir: string }): string {
  const domain = options.domain ?? 'acme.localhost';
  const portal = `sso.${domain}`;
  const legacy = options.legacy ?? { password: false, totp: false };
  return `server:
  portal_host: ${portal}
  http:
    host: "::"
    port: ${options.port}
${options.https ? `  https: { host: "::", port: ${options.https.port}, cert_file: ${options.https.certFile}, key_file: ${options.https.keyFile} }\n` : ''}  key_encryption_key: ${TEST_KEY_ENCRYPTION_KEY}
database:
  url: ${options.databaseUrl ?? `sqlite:${join(options.dir, 'gatehouse.db')}`}
  feed_poll_ms: ${options.feedPollMs ?? 50}
webauthn:
  rp_id: ${domain}
  rp_name: Acme
  origins: ["http://${portal}:${options.port}"]
  user_verification: ${options.userVerification ?? 'preferred'}
identity:
  legacy:
    password: ${legacy.password}
    totp: ${legacy.totp}
    allow_downgrade: ${legacy.allowDowngrade ?? false}
portal:
  organisation: Acme Corp
  sign_in_rate_per_minute: 1000
logging:
  level: info
${options.extraYaml ?? ''}`;
}

export async function startFixture(options: FixtureOptions = {}): Promise<GatehouseFixture> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const port = options.port ?? (await freePort());
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(configPath, fixtureConfigYaml({ ...options, port, dir }));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const gatehouse = await startGatehouse({
    snapshot: loadConfigFile(configPath),
    logDestination: sink,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.watch ? { watch: true } : {}),
    ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}),
    passwordHashing: TEST_PASSWORD_HASHING,
  });
  const portalHost = `sso.${options.domain ?? 'acme.localhost'}`;
  return {
    gatehouse,
    dir,
    configPath,
    port,
    portalHost,
    portalOrigin: `http://${portalHost}:${port}`,
    logs,
    async close() {
      await gatehouse.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
