/**
 * `gatehouse serve` as a real process, as `npm start` runs it: the banner names the first admin, their
 * one-time link and the three next steps; the alert for that admin is the calm first-start notice, while
 * an admin added afterwards by another process (the CLI, which could as well be anyone writing the
 * database, and claims to be `system:first-start` in nothing but a string) gets the usual alert.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureConfigYaml, freePort } from '../support/gatehouse-fixture.js';
import { startWebhookReceiver, type WebhookReceiver } from '../incident/webhook-receiver.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'src', 'cli', 'bin.ts');
const SCARY = 'If nobody expected this, declare an incident';

describe('gatehouse serve: the first start', () => {
  let dir: string;
  let configPath: string;
  let hooks: WebhookReceiver;
  let child: ChildProcess;
  let stderr = '';

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-first-start-'));
    configPath = join(dir, 'gatehouse.yaml');
    const port = await freePort();
    writeFileSync(configPath, fixtureConfigYaml({ port, dir, extraYaml: `incident:\n  webhook_url: ${hooks.url}\n  admin_watch_interval_ms: 100\n` }));
    child = spawn(process.execPath, ['--import', 'tsx', bin, 'serve', '--config', configPath], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const start = Date.now();
    while (!stderr.includes('Next steps:')) {
      if (child.exitCode !== null || Date.now() - start > 120_000) throw new Error(`serve did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 150_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await hooks?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function alertFor(email: string): Promise<string> {
    const start = Date.now();
    for (;;) {
      const hit = hooks.received.find((h) => h.body.text?.includes(email));
      if (hit) return hit.body.text!;
      if (Date.now() - start > 30_000) throw new Error(`no alert for ${email}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('prints the first admin, the link and the three next steps', () => {
    expect(stderr).toContain('First administrator: admin@acme.localhost');
    expect(stderr).toMatch(/\/enroll\?token=[\w-]+/);
    expect(stderr).toContain('npx gatehouse user invite');
    expect(stderr).toContain('apps:');
    expect(stderr).toContain('Point a resolver at the gateway');
  });

  it('the first admin gets the calm notice; an admin added later by the CLI gets the alert', async () => {
    const first = await alertFor('admin@acme.localhost');
    expect(first).toContain('first start');
    expect(first).not.toContain(SCARY);

    await promisify(execFile)(process.execPath, ['--import', 'tsx', bin, 'user', 'invite', 'eve@acme.localhost', '--group', 'admins', '--config', configPath], { cwd: root, timeout: 120_000 });
    expect(await alertFor('eve@acme.localhost')).toContain(SCARY);
  }, 180_000);
});
