/**
 * docs/app-developers.md's verification programs, taken from the page as written (each fenced block after
 * a `<!-- snippet: LANG -->` line) and run against a live Gatehouse: its JWKS fetched by address (as an
 * upstream on the same machine must), and a real assertion a signed-in user's request carried to the app.
 * Each must accept it and print the claims; each must refuse it once a byte of the signature changes,
 * and refuse it for another app. A language whose toolchain is missing is skipped with a [SKIPPED] line
 * (a failure under GATEHOUSE_REQUIRE_PEERS=1, as in CI).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../peers.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const root = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'app-developers.md'), 'utf8');
const run = promisify(execFile);

function snippet(language: string): string {
  const match = new RegExp(`<!-- snippet: ${language} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/app-developers.md has no snippet for ${language}`);
  return match[1]!;
}

function missing(toolchain: string, why: string): false {
  if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: ${toolchain} (${why})`);
  process.stderr.write(`\n[SKIPPED] docs/app-developers.md ${toolchain} snippet: ${why}\n`);
  return false;
}

async function pythonWithJwt(): Promise<string | undefined> {
  for (const python of ['/usr/bin/python3', findExecutable('python3')]) {
    if (!python) continue;
    try {
      await run(python, ['-c', 'import jwt, cryptography'], { timeout: 20_000 });
      return python;
    } catch {
      // this interpreter lacks PyJWT or cryptography: try the next
    }
  }
  return undefined;
}

const go = findExecutable('go', ['/usr/bin/go', '/usr/lib/go/bin/go']);
const python = await pythonWithJwt();
const runners: Record<string, { file: string; command: (file: string) => [string, string[]] } | false> = {
  node: { file: 'verify.mjs', command: (file) => [process.execPath, [file]] },
  python: python ? { file: 'verify.py', command: (file) => [python, [file]] } : missing('Python', 'python3 with PyJWT and cryptography not found (apt-get install python3-jwt python3-cryptography)'),
  go: go ? { file: 'verify.go', command: (file) => [go, ['run', file]] } : missing('Go', 'go not found (apt-get install golang-go)'),
};

describe('docs/app-developers.md verification snippets', () => {
  let fx: GatehouseFixture;
  let upstream: http.Server;
  let assertion: string;
  let workDir: string;
  const seen: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    fx = await startFixture({
      extraYaml: `apps:\n  - name: whoami\n    host: whoami.acme.localhost\n    upstream: http://127.0.0.1:${port}\n    policies: [{ name: staff, action: allow, include: [{ group: [staff] }] }]\n`,
    });
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'dana@acme.test', ['staff']);
    const hops = await browser.follow(`http://whoami.acme.localhost:${fx.port}/`);
    expect(hops.at(-1)!.status).toBe(200);
    assertion = seen.at(-1)!['gatehouse-jwt-assertion'] as string;
    // Inside the repository, so the Node snippet resolves `jose` from node_modules.
    mkdirSync(join(root, '.test-build'), { recursive: true });
    workDir = mkdtempSync(join(root, '.test-build', 'app-snippets-'));
  });
  afterAll(async () => {
    await fx?.close();
    await new Promise((r) => upstream?.close(r));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function verify(language: string, token: string, audience = 'whoami') {
    const runner = runners[language];
    if (!runner) throw new Error('unreachable');
    const file = join(workDir, runner.file);
    writeFileSync(file, `${snippet(language)}\n`);
    const [command, args] = runner.command(file);
    return run(command, args, {
      timeout: 120_000,
      cwd: workDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? workDir,
        GOCACHE: join(root, '.test-build', 'go-cache'),
        GOPROXY: 'off',
        // By address: the way an upstream on this machine reaches the keys (*.localhost is a browser's rule).
        GATEHOUSE_JWKS_URL: `http://127.0.0.1:${fx.port}/.well-known/jwks.json`,
        GATEHOUSE_ISSUER: fx.portalOrigin,
        GATEHOUSE_AUDIENCE: audience,
        GATEHOUSE_ASSERTION: token,
      },
    });
  }

  for (const language of Object.keys(runners)) {
    it.skipIf(!runners[language])(`${language}: accepts a real assertion, refuses a tampered one and one for another app`, async () => {
      const { stdout } = await verify(language, assertion);
      const claims = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: fx.portalOrigin, aud: 'whoami', email: 'dana@acme.test', name: 'dana', groups: ['staff'] });

      const [head, body, signature] = assertion.split('.') as [string, string, string];
      const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
      await expect(verify(language, `${head}.${body}.${flipped}`)).rejects.toMatchObject({ code: expect.any(Number) });
      await expect(verify(language, assertion, 'payroll')).rejects.toMatchObject({ code: expect.any(Number) });
    }, 300_000);
  }
});
