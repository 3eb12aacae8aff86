/**
 * Steps of `gatehouse login` for tests, against a running fixture: a PKCE pair, the authorize URL, a
 * signed-in browser approving the consent, the token and certificate requests as the CLI sends them,
 * and the real `gatehouse login` run in-process while the test plays the browser.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { expect } from 'vitest';
import type { CliIo } from '../../src/cli/cli-context.js';
import { runCli } from '../../src/cli/run-cli.js';
import { generateSessionKey } from '../../src/ssh/index.js';
import type { GatehouseFixture } from './gatehouse-fixture.js';
import type { TestBrowser } from './http-client.js';

export const TEST_REDIRECT_URI = 'http://127.0.0.1:53682/callback';

/** `ssh:` for these tests: `ops` maps to `login`; apps for each policy rule the tests exercise. */
export function cliLoginSshYaml(login: string): string {
  return `ssh:
  principals:
    - { group: ops, logins: [${login}] }
  apps:
    - name: servers
      policies:
        - name: ops-with-a-key
          action: allow
          include: [{ group: [ops] }]
          require: [{ auth_method: [phishing_resistant] }]
    - name: hardware
      policies:
        - { name: attested-keys, action: allow, include: [{ group: [ops] }], require: [{ auth_method: [hwk] }] }
    - name: open
      policies:
        - { action: allow, include: [{ everyone: true }] }
    - name: fresh
      policies:
        - { action: allow, include: [{ group: [ops] }], require: [{ auth_age: 5 }] }
    - name: office-only
      policies:
        - { action: allow, include: [{ everyone: true }], require: [{ ip: [10.0.0.0/8] }] }
`;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}

export type CliLoginSteps = ReturnType<typeof cliLoginSteps>;

export function cliLoginSteps(fx: GatehouseFixture) {
  const authorizeUrl = (params: Record<string, string>) => {
    const url = new URL('/cli/authorize', fx.portalOrigin);
    const all = { response_type: 'code', client_id: 'gatehouse-cli', redirect_uri: TEST_REDIRECT_URI, code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 'state-0123456789', ...params };
    for (const [key, value] of Object.entries(all)) url.searchParams.set(key, value);
    return url.toString();
  };

  /** Plays the signed-in browser: opens the authorize URL, approves the consent; returns the 303's Location. */
  async function consent(as: TestBrowser, url: string): Promise<string> {
    const page = await as.fetch(url);
    expect(page.status).toBe(200);
    const fields = Object.fromEntries([...page.body.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    const posted = await as.fetch(`${fx.portalOrigin}/cli/authorize`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    expect(posted.status).toBe(303);
    return posted.location!;
  }

  async function token(body: Record<string, unknown>) {
    const res = await request(`http://127.0.0.1:${fx.port}/cli/token`, { method: 'POST', headers: { host: fx.portalHost, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  async function certificate(credential: string, app: string, publicKey = generateSessionKey().publicKeyLine) {
    const res = await request(`http://127.0.0.1:${fx.port}/cli/ssh/certificate`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/json', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ app, public_key: publicKey }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  /** The whole flow without the CLI: consent in `as`, then the token request. */
  async function credentialFor(as: TestBrowser): Promise<string> {
    const { verifier, challenge } = pkce();
    const location = new URL(await consent(as, authorizeUrl({ code_challenge: challenge })));
    const reply = await token({ grant_type: 'authorization_code', code: location.searchParams.get('code'), code_verifier: verifier, redirect_uri: TEST_REDIRECT_URI });
    expect(reply.status).toBe(200);
    return String(reply.body.credential);
  }

  async function lastAudit(type: string) {
    const events = await fx.gatehouse.core.audit.list({ type, limit: 1 });
    return events[0];
  }

  /** Runs the real `gatehouse login` in-process, plays the browser for the URL it prints, lets the redirect hit its listener. */
  async function cliLogin(as: TestBrowser, env: Record<string, string>, cwd: string, flags: string[] = ['--no-browser']): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    let seen: (url: string) => void = () => {};
    const urlSeen = new Promise<string>((resolve) => (seen = resolve));
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          const match = /(http:\/\/\S+\/cli\/authorize\?\S+)/.exec(stderr);
          if (match) seen(match[1]!);
        },
      },
      stdin: Readable.from([]),
      env,
      cwd,
    };
    const running = runCli(['login', '--portal', fx.portalOrigin, ...flags], io);
    const url = await Promise.race([urlSeen, running.then(() => Promise.reject(new Error(`login ended early: ${stderr}`)))]);
    const loopback = await consent(as, url);
    expect(new URL(loopback).hostname).toBe('127.0.0.1');
    const delivered = await fetch(loopback);
    expect(delivered.status).toBe(200);
    return { code: await running, stdout, stderr };
  }

  return { authorizeUrl, consent, token, certificate, credentialFor, lastAudit, cliLogin };
}
