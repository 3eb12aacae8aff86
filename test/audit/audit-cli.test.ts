/** `gatehouse audit ...`, in-process, against the database of a running Gatehouse (its own store connection). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (...args: string[]) => runGatehouse(args, { config: fx.configPath });
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

describe('gatehouse audit', () => {
  it('verify, head and query on a clean log; bad flags are usage errors', async () => {
    const { identity, audit } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'hunt@acme.test' });
    await audit.record({ type: 'sign_in', outcome: 'failure', code: 'webauthn_origin_mismatch', userId: user.id, ip: '203.0.113.9', detail: { app: 'wiki' } });
    await audit.record({ type: 'access.denied', outcome: 'failure', ip: '203.0.113.9', detail: { app: 'ci' } });
    expect((await gatehouse('user', 'add', 'other@acme.test')).code).toBe(0); // an event written through another store connection

    const verify = await gatehouse('audit', 'verify');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/audit log verified: 3 event\(s\) from the first event; [\d,]+ events\/s/);
    expect(verify.stdout).toContain('--anchor SEQ:HASH');

    const head = await gatehouse('audit', 'head');
    // The checkpoint key is pinned from the first head, before any prune has used it.
    expect(head.stdout).toMatch(/^3:[0-9a-f]{64}\ncheckpoint-key SHA256:[0-9a-f]{64}\n$/);
    const [anchor, keyLine] = head.stdout.trim().split('\n');
    expect((await gatehouse('audit', 'verify', '--anchor', anchor!)).stdout).toContain('anchor matched');
    expect((await gatehouse('audit', 'verify', '--checkpoint-key', keyLine!.split(' ')[1]!)).code).toBe(0);

    expect(jsonLines((await gatehouse('audit', 'query', '--ip', '203.0.113.9')).stdout).map((e) => e.type)).toEqual(['sign_in', 'access.denied']);
    expect(jsonLines((await gatehouse('audit', 'query', '--user', 'hunt@acme.test')).stdout)).toMatchObject([{ seq: 1, code: 'webauthn_origin_mismatch', detail: { app: 'wiki' } }]);
    expect(jsonLines((await gatehouse('audit', 'query', '--app', 'ci', '--type', 'access.denied', '--since', '2000-01-01', '--limit', '5')).stdout)).toMatchObject([{ seq: 2 }]);

    const badTime = await gatehouse('audit', 'query', '--since', 'yesterday');
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--since "yesterday": expected an ISO 8601 time');
    expect((await gatehouse('audit', 'verify', '--anchor', 'nonsense')).stderr).toContain('--anchor: expected SEQ:HASH');
    const ghost = await gatehouse('audit', 'query', '--user', 'ghost@acme.test');
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('user_not_found');
  });

  it('verify exits 1 and names the first tampered event', async () => {
    const { db } = fx.gatehouse.core.store;
    const original = await db.selectFrom('audit_events').select('detail').where('seq', '=', 2).executeTakeFirstOrThrow();
    await db.updateTable('audit_events').set({ detail: '{"app":"wiki"}' }).where('seq', '=', 2).execute();
    const human = await gatehouse('audit', 'verify');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('first bad event is seq 2 (changed)');
    const json = await gatehouse('audit', 'verify', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problem: { kind: 'changed', seq: 2 } });

    const prune = await gatehouse('audit', 'prune', '--before', new Date().toISOString());
    expect(prune.code).toBe(1);
    expect(prune.stderr).toContain('audit_chain_invalid');
    await db.updateTable('audit_events').set({ detail: original.detail }).where('seq', '=', 2).execute();
    expect((await gatehouse('audit', 'verify')).code).toBe(0);
  });

  it('prune leaves a signed checkpoint; verify starts there; a forged checkpoint fails', async () => {
    const { db } = fx.gatehouse.core.store;
    await new Promise((r) => setTimeout(r, 5));
    const cut = new Date().toISOString();
    await fx.gatehouse.core.audit.record({ type: 'after.cut', outcome: 'info' });
    const prune = await gatehouse('audit', 'prune', '--before', cut, '--json');
    expect(prune.code).toBe(0);
    const result = JSON.parse(prune.stdout) as { deleted: number; checkpoint: { seq: number; hash: string; keyFingerprint: string } };
    expect(result).toMatchObject({ deleted: 3, checkpoint: { seq: 3, keyFingerprint: expect.stringMatching(/^SHA256:[0-9a-f]{64}$/) } });

    const verify = await gatehouse('audit', 'verify', '--checkpoint-key', result.checkpoint.keyFingerprint);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`from the signed checkpoint at seq 3 (key ${result.checkpoint.keyFingerprint})`);
    expect((await gatehouse('audit', 'head')).stdout).toContain(`checkpoint-key ${result.checkpoint.keyFingerprint}`);
    expect(jsonLines((await gatehouse('audit', 'query', '--type', 'audit.pruned')).stdout)).toMatchObject([{ actor: 'cli', detail: { deleted: 3, through_seq: 3 } }]);
    expect((await gatehouse('audit', 'prune', '--before', '2999-01-01')).stderr).toContain('audit_prune_future');

    // An anchor retention deleted: checked only where a signed checkpoint records its hash.
    const unrecorded = await gatehouse('audit', 'verify', '--anchor', `2:${'ab'.repeat(32)}`);
    expect(unrecorded.code).toBe(1);
    expect(unrecorded.stdout).toContain('the anchor at seq 2 lies in a pruned range that no signed checkpoint records');
    const unrecordedJson = await gatehouse('audit', 'verify', '--anchor', `2:${'ab'.repeat(32)}`, '--json');
    expect(JSON.parse(unrecordedJson.stdout)).toMatchObject({ ok: false, problem: { kind: 'anchor_pruned', seq: 2 } });
    const recorded = await gatehouse('audit', 'verify', '--anchor', `3:${result.checkpoint.hash}`);
    expect(recorded.code).toBe(0);
    expect(recorded.stdout).toContain('anchor matched: retention deleted that event; the signed checkpoint at its seq records its hash');

    // The same database without the key-encryption key: verify works, prune is refused and deletes nothing.
    const withoutKek = join(fx.dir, 'no-kek.yaml');
    writeFileSync(withoutKek, readFileSync(fx.configPath, 'utf8').replace(/ {2}key_encryption_key: .*\n/, ''));
    const events = (await db.selectFrom('audit_events').select('seq').execute()).length;
    const refused = await runGatehouse(['audit', 'prune', '--before', new Date().toISOString()], { config: withoutKek });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[audit_prune_needs_kek]');
    expect(refused.stderr).toContain('kek_not_configured');
    expect((await db.selectFrom('audit_events').select('seq').execute()).length).toBe(events);
    expect((await runGatehouse(['audit', 'verify'], { config: withoutKek })).code).toBe(0);

    await db.updateTable('audit_checkpoints').set({ at: 0 }).where('seq', '=', 3).execute();
    const forged = await gatehouse('audit', 'verify');
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('first bad checkpoint is seq 3 (bad checkpoint)');
    expect(forged.stdout).toContain('signature does not verify');
  });
});
