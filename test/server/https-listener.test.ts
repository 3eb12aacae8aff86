/** `gatehouse init --self-signed` and the HTTPS listener: Secure cookies and HSTS under TLS. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemo } from '../../src/cli/demo-config.js';
import { loadConfigFile } from '../../src/config/index.js';
import { startGatehouse, type RunningGatehouse } from '../../src/main.js';
import { haveCommand } from '../peers.js';
import { freePort } from '../support/gatehouse-fixture.js';
import { Writable } from 'node:stream';

const haveOpenssl = haveCommand('openssl');

describe.runIf(haveOpenssl)('HTTPS listener from `gatehouse init --self-signed`', () => {
  let running: RunningGatehouse;
  let port: number;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    port = await freePort();
    const { configPath } = await writeDemo({ dir, host: 'acme.localhost', port, selfSigned: true, force: false, metricsPort: await freePort() });
    expect(readFileSync(configPath, 'utf8')).toContain('cert_file: data/tls/cert.pem');
    running = await startGatehouse({ snapshot: loadConfigFile(configPath), logDestination: new Writable({ write: (_c, _e, done) => done() }) });
  });
  afterAll(async () => {
    await running?.close();
  });

  it('serves the portal over TLS with Secure cookies and HSTS', async () => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false, servername: 'sso.acme.localhost' } });
    const res = await request(`https://127.0.0.1:${port}/sign-in`, { headers: { host: `sso.acme.localhost:${port}` }, dispatcher });
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(String(res.headers['set-cookie'])).toMatch(/gatehouse_csrf=.*Secure/i);
    expect(await res.body.text()).toContain('Sign in with a security key');
    expect(running.portalUrl).toBe(`https://sso.acme.localhost:${port}`);
    await dispatcher.close();
  });
});
