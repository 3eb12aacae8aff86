/** `gatehouse config check` names the keys a running server applies only after a restart. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { fixtureConfigYaml } from '../support/gatehouse-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gatehouse config check', () => {
  it('lists every restart-only key, in text and in JSON', async () => {
    const path = join(dir, 'gatehouse.yaml');
    writeFileSync(path, fixtureConfigYaml({ port: 8080, dir }));
    const text = await runGatehouse(['config', 'check', path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${path}: valid`);
    for (const key of ['server.http', 'server.metrics', 'database', 'logging', 'access.jwt_ttl_seconds', 'dns.doh_path']) expect(text.stdout).toContain(`  ${key}: `);
    const json = await runGatehouse(['config', 'check', path, '--json']);
    const parsed = JSON.parse(json.stdout) as { valid: boolean; restartOnly: { path: string; reason: string }[] };
    expect(parsed.valid).toBe(true);
    expect(parsed.restartOnly.map((key) => key.path)).toContain('dns.doh_path');
    // Every other dns key is applied on reload.
    expect(parsed.restartOnly.filter((key) => key.path.startsWith('dns.')).map((key) => key.path)).toEqual(['dns.doh_path']);
  });
});
