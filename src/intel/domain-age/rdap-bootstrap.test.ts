import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../../lib/errors.js';
import { loadRdapBootstrapFile, parseRdapBootstrap } from './rdap-bootstrap.js';
import { createRdapBootstrapSource } from './rdap-bootstrap-source.js';
import { startRdapFixture, type RdapFixture } from './test-support/rdap-fixture-server.js';

function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isGatehouseError(error) ? error.code : 'not a GatehouseError';
  }
  return undefined;
}

function bootstrapJson(publication: string, services: [string[], string[]][]): string {
  return JSON.stringify({ version: '1.0', publication, description: 'test', services });
}

describe('RDAP bootstrap (RFC 9224) from the shipped IANA snapshot', () => {
  const shipped = loadRdapBootstrapFile();

  it('finds the registry RDAP server by TLD', () => {
    expect(shipped.publication).toBe('2026-07-23T02:00:03Z');
    expect(shipped.entryCount).toBeGreaterThan(1000);
    expect(shipped.baseUrlFor('evil.com')).toBe('https://rdap.verisign.com/com/v1/');
    expect(shipped.baseUrlFor('evil.co.uk')).toBe('https://rdap.nominet.uk/uk/');
    expect(shipped.baseUrlFor('acme.app')).toBe('https://pubapi.registry.google/rdap/');
    expect(shipped.baseUrlFor('EVIL.COM.')).toBe('https://rdap.verisign.com/com/v1/');
  });

  it('uses http only where the registry lists nothing else', () => {
    expect(shipped.baseUrlFor('example.kg')).toBe('http://rdap.cctld.kg/');
  });

  it('has no server for TLDs it does not list', () => {
    expect(shipped.baseUrlFor('printer.corp')).toBeUndefined();
    expect(shipped.baseUrlFor('nas.local')).toBeUndefined();
  });

  it('prefers https, adds the trailing slash and picks the longest matching entry', () => {
    const bootstrap = parseRdapBootstrap(
      JSON.parse(
        bootstrapJson('2026-01-01T00:00:00Z', [
          [['uk'], ['http://plain.example/uk', 'https://secure.example/uk']],
          [['co.uk'], ['https://co.example/']],
        ]),
      ),
    );
    expect(bootstrap.baseUrlFor('evil.org.uk')).toBe('https://secure.example/uk/');
    expect(bootstrap.baseUrlFor('evil.co.uk')).toBe('https://co.example/');
  });

  it('refuses malformed bootstrap data with rdap_bootstrap_invalid', () => {
    expect(errorCodeOf(() => parseRdapBootstrap({ services: 'nope' }))).toBe('rdap_bootstrap_invalid');
    expect(errorCodeOf(() => parseRdapBootstrap(null))).toBe('rdap_bootstrap_invalid');
    expect(errorCodeOf(() => parseRdapBootstrap({ services: [[['com'], ['ftp://x/']]] }))).toBe('rdap_bootstrap_invalid');
    expect(errorCodeOf(() => loadRdapBootstrapFile('/nonexistent/bootstrap.json'))).toBe('rdap_bootstrap_invalid');
  });
});

describe('RDAP bootstrap refresh keeps the last good copy', () => {
  let fixture: RdapFixture;
  let dir: string;
  const initial = parseRdapBootstrap(JSON.parse(bootstrapJson('2026-07-23T02:00:03Z', [[['com'], ['https://old.example/']]])));

  beforeAll(async () => {
    fixture = await startRdapFixture();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-bootstrap-'));
  });
  afterAll(async () => {
    await fixture.close();
    await rm(dir, { recursive: true, force: true });
  });

  const source = (path: string, cacheFile?: string) =>
    createRdapBootstrapSource({ initial, url: `${fixture.origin}${path}`, refreshHours: 24, timeoutMs: 5000, ...(cacheFile ? { cacheFile } : {}) });

  it('replaces the snapshot with a newer download and writes the cache file', async () => {
    const cacheFile = join(dir, 'dns.json');
    fixture.setFile('/good.json', 200, bootstrapJson('2026-08-01T00:00:00Z', [[['com'], ['https://new.example/']]]), 'application/json');
    const bootstrap = source('/good.json', cacheFile);
    expect(await bootstrap.refresh()).toMatchObject({ ok: true, publication: '2026-08-01T00:00:00Z' });
    expect(bootstrap.current().baseUrlFor('a.com')).toBe('https://new.example/');
    expect(JSON.parse(await readFile(cacheFile, 'utf8')).publication).toBe('2026-08-01T00:00:00Z');
    // A restart starts from the cached download, not the older shipped snapshot.
    expect(source('/missing.json', cacheFile).current().baseUrlFor('a.com')).toBe('https://new.example/');
  });

  it('keeps the current copy when the download fails, is invalid or is older', async () => {
    fixture.setFile('/error.json', 500, 'oops');
    fixture.setFile('/invalid.json', 200, '{"services": 5}', 'application/json');
    fixture.setFile('/notjson.json', 200, '<html>', 'text/html');
    fixture.setFile('/old.json', 200, bootstrapJson('2020-01-01T00:00:00Z', [[['com'], ['https://ancient.example/']]]), 'application/json');
    const cases: [string, string][] = [
      ['/error.json', 'rdap_bootstrap_fetch_failed'],
      ['/invalid.json', 'rdap_bootstrap_invalid'],
      ['/notjson.json', 'rdap_bootstrap_invalid'],
      ['/old.json', 'rdap_bootstrap_stale'],
    ];
    for (const [path, code] of cases) {
      const bootstrap = source(path);
      expect(await bootstrap.refresh()).toMatchObject({ ok: false, code });
      expect(bootstrap.current().baseUrlFor('a.com')).toBe('https://old.example/');
    }
  });
});
