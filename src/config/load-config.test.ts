import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchConfig } from './config-watcher.js';
import { ConfigError, loadConfigFile, parseConfig } from './load-config.js';

const base = `server:
  portal_host: sso.acme.localhost
  http: { port: 8080 }
webauthn:
  rp_id: acme.localhost
  origins: ["http://sso.acme.localhost:8080"]
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'gatehouse.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('config validation', () => {
  it('accepts the minimal config and fills documented defaults', () => {
    const config = parseConfig(base, 'gatehouse.yaml');
    expect(config.database.url).toBe('sqlite:./data/gatehouse.db');
    expect(config.sessions.idle_timeout_minutes).toBe(480);
    expect(config.identity.legacy).toEqual({ password: false, totp: false, allow_downgrade: false, max_failures: 10, lockout_minutes: 15 });
    expect(config.identity).toMatchObject({ invite_ttl_hours: 8, pending_key_minutes: 10, key_change_window_minutes: 5, admin_write_window_minutes: 10 });
    expect(config.webauthn.user_verification).toBe('preferred');
  });

  it('refuses cookie names that would overwrite each other, naming the key', () => {
    expect(problems(`${base}sessions: { cookie_name: shared }\naccess: { session_cookie_name: shared }\n`)).toBe('access.session_cookie_name: must differ from sessions.cookie_name ("shared")');
    expect(problems(`${base}sessions: { cookie_name: gatehouse_csrf }\n`)).toBe('sessions.cookie_name: "gatehouse_csrf" is the name of another Gatehouse cookie');
    expect(problems(`${base}access: { session_cookie_name: gatehouse_handshake }\n`)).toBe('access.session_cookie_name: "gatehouse_handshake" is the name of another Gatehouse cookie');
  });

  it('refuses an app named like the report webhook, naming both keys (one namespace for what a service token reaches)', () => {
    const app = (name: string) => `  - name: ${name}\n    host: ${name}.acme.localhost\n    upstream: http://127.0.0.1:9000\n    policies: [{ action: allow, include: [{ everyone: true }] }]\n`;
    expect(problems(`${base}apps:\n${app('wiki')}${app('report-intake')}reports:\n  webhook: {}\n`)).toBe(
      'reports.webhook.app: "report-intake" is also apps[1].name: a service token listing it would reach both; give one of them another name',
    );
    expect(problems(`${base}apps:\n${app('payroll')}reports:\n  webhook: { app: payroll }\n`)).toBe('reports.webhook.app: "payroll" is also apps[0].name: a service token listing it would reach both; give one of them another name');
    // Without the webhook the name is free, and a webhook with another name is fine.
    expect(() => parseConfig(`${base}apps:\n${app('report-intake')}`, 'gatehouse.yaml')).not.toThrow();
    expect(() => parseConfig(`${base}apps:\n${app('report-intake')}reports:\n  webhook: { app: sms-reports }\n`, 'gatehouse.yaml')).not.toThrow();
  });

  it('names the path of an unknown key', () => {
    expect(problems(base.replace('origins:', 'orgins:'))).toMatch(/^webauthn\.orgins: unknown key \(did you mean "origins"\?\)/m);
    expect(problems(`${base}sesions: {}\n`)).toMatch(/^sesions: unknown key \(did you mean "sessions"\?\)/m);
  });

  it('names the path of a bad value', () => {
    expect(problems(base.replace('port: 8080', 'port: 80800'))).toMatch(/^server\.http\.port: /m);
    expect(problems(base.replace('"http://sso.acme.localhost:8080"', '"http://sso.acme.test"'))).toMatch(/^webauthn\.origins\[0\]: .*https/m);
    expect(problems(`${base}identity:\n  legacy: { password: yes-please }\n`)).toMatch(/^identity\.legacy\.password: /m);
  });

  it('refuses an origin outside the RP ID and a public-suffix RP ID', () => {
    expect(problems(base.replace('rp_id: acme.localhost', 'rp_id: other.localhost'))).toMatch(/webauthn\.origins\[0\]: .*not within rp_id/);
    expect(problems(base.replace('rp_id: acme.localhost', 'rp_id: co.uk').replace('http://sso.acme.localhost:8080', 'https://sso.acme.co.uk'))).toMatch(/public suffix/);
  });

  it('reports YAML syntax errors and a non-mapping document', () => {
    expect(problems('server: [unclosed')).toMatch(/^YAML: /m);
    expect(problems('- just\n- a list\n')).toMatch(/expected a mapping/);
  });

  it('takes secrets from the environment and names a missing variable without its value', () => {
    const text = base.replace('url: sqlite', 'url: sqlite').concat('database:\n  url: ${env:GH_DB_URL}\n');
    expect(parseConfig(text, 'g.yaml', { GH_DB_URL: 'postgres://gh:s3cret@db/gh' }).database.url).toBe('postgres://gh:s3cret@db/gh');
    expect(problems(text, {})).toBe('database.url: environment variable GH_DB_URL is not set');
  });

  it('freezes the snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
    writeFileSync(join(dir, 'gatehouse.yaml'), base);
    const snapshot = loadConfigFile(join(dir, 'gatehouse.yaml'));
    expect(Object.isFrozen(snapshot.config.webauthn.origins)).toBe(true);
    expect(() => {
      (snapshot.config.server as { portal_host: string }).portal_host = 'evil';
    }).toThrow();
  });
});

describe('hot reload', () => {
  it('swaps in a valid file, refuses an invalid one and keeps the old snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-reload-'));
    const path = join(dir, 'gatehouse.yaml');
    writeFileSync(path, base);
    const applied: string[] = [];
    const rejected: string[] = [];
    const watcher = watchConfig({
      initial: loadConfigFile(path),
      onReload: (next) => {
        applied.push(next.config.portal.organisation);
      },
      onRejected: (error) => rejected.push(String((error as Error).message)),
      debounceMs: 20,
    });
    try {
      writeFileSync(path, `${base}portal: { organisation: Acme }\n`);
      await expect.poll(() => applied, { timeout: 5000 }).toEqual(['Acme']);
      writeFileSync(path, `${base}portal: { organisation: 5 }\n`);
      await expect.poll(() => rejected.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(rejected.at(-1)).toMatch(/portal\.organisation/);
      expect(watcher.current().config.portal.organisation).toBe('Acme');
      expect(await watcher.reload('SIGHUP')).toBe(false);
      writeFileSync(path, `${base}portal: { organisation: Acme Corp }\n`);
      expect(await watcher.reload('SIGHUP')).toBe(true);
      expect(watcher.current().config.portal.organisation).toBe('Acme Corp');
    } finally {
      watcher.close();
    }
  });
});
