/**
 * A playbook killed midway resumes with no duplicated effect. A child process declares the incident
 * and SIGKILLs itself inside the playbook: once in the middle of the notifications, once right after
 * the revocation step. The resumed run (the dead runner's lease is taken over because its process is
 * gone) skips what is done and delivers only what was not sent: each email and the webhook arrive
 * exactly once, each block and re-enrollment is recorded once.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseCore } from '../../src/core.js';
import { createIncidentResponse, type IncidentResponse } from '../../src/incident/index.js';
import { builtPath } from '../support/paths.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startMailSink, type MailSink } from './mail-sink.js';
import { relayFullSignIn, relayReplayedCode, withLegacyFactors } from './relay-victims.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const CHILD = builtPath('test/incident/crash-child.ts');

function runChild(configPath: string, mode: string, arg: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, configPath, mode, arg], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    child.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

async function countAudit(core: GatehouseCore, type: string, incidentId: string): Promise<number> {
  const rows = await core.store.db.selectFrom('audit_events').select(['detail', 'actor']).where('type', '=', type).execute();
  return rows.filter((r) => r.actor === `incident:${incidentId}` || r.detail.includes(incidentId)).length;
}

describe('a playbook killed midway resumes without repeating an effect', () => {
  let fx: GatehouseFixture;
  let mail: MailSink;
  let hooks: WebhookReceiver;
  let incidents: IncidentResponse;

  beforeAll(async () => {
    mail = await startMailSink();
    hooks = await startWebhookReceiver();
    // One SMTP connection: the kill lands between deliveries, never with another one in flight.
    fx = await startFixture({
      legacy: { password: true, totp: true },
      extraYaml: `incident:
  webhook_url: ${hooks.url}
  smtp: { host: 127.0.0.1, port: ${mail.port}, from: "security@acme.test", pool_size: 1 }
`,
    });
    const core = fx.gatehouse.core;
    for (const email of ['dana@acme.test', 'erin@acme.test', 'frank@acme.test', 'grace@acme.test']) await core.identity.users.add({ email });
    await relayFullSignIn(core, await withLegacyFactors(core, 'alice@acme.test'));
    await relayReplayedCode(core, await withLegacyFactors(core, 'bob@acme.test'));
    incidents = createIncidentResponse({ core, ipBlocks: fx.gatehouse.access.ipBlocks });
  });
  afterAll(async () => {
    await incidents?.dispose();
    await fx?.close();
    await mail?.close();
    await hooks?.close();
  });

  const deliveriesOf = (incidentId: string) => ({
    mails: mail.messages.filter((m) => m.idempotencyKey.startsWith(`${incidentId}:`)),
    hooks: hooks.received.filter((h) => h.idempotencyKey?.startsWith(`${incidentId}:`)),
  });

  it('killed in the middle of the notifications: the resumed run sends only what was not sent', async () => {
    const child = await runChild(fx.configPath, 'deliveries', '4');
    expect(child.signal).toBe('SIGKILL');
    expect(child.out).not.toContain('FINISHED');
    const [crashed] = await incidents.list();
    const id = crashed!.id;
    expect(crashed!.runState).toBe('running');
    expect(deliveriesOf(id).mails).toHaveLength(4); // 2 enrollment links, then 2 of the warnings

    // The dead runner still holds the lease, but it ran on this host and its process is gone: a plain
    // resume sees that and takes the lease over (audited) without the responder having to know.
    const { incident, run } = await incidents.resume(id, { actor: 'test' });
    expect(await countAudit(fx.gatehouse.core, 'incident.lease_taken_over', id)).toBe(1);
    expect(run.state).toBe('complete');
    expect(run.skipped).toEqual(['revoke_credentials', 'block_domains', 'block_ips', 'hunt', 'revoke_sessions', 'force_reenrollment']);
    expect(run.ran).toEqual(['notify', 'export_stix']);
    expect(incident.timeline.find((t) => t.step === 'notify')!.attempts).toBe(2);

    const { mails, hooks: posted } = deliveriesOf(id);
    const perKey = new Map<string, number>();
    for (const m of mails) perKey.set(m.idempotencyKey, (perKey.get(m.idempotencyKey) ?? 0) + 1);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    expect(mails.filter((m) => m.subject.includes('Phishing attack')).map((m) => m.to[0]).sort()).toEqual([
      'alice@acme.test', 'bob@acme.test', 'dana@acme.test', 'erin@acme.test', 'frank@acme.test', 'grace@acme.test',
    ]);
    expect(mails.filter((m) => m.subject.includes('Register a security key')).map((m) => m.to[0]).sort()).toEqual(['alice@acme.test', 'bob@acme.test']);
    expect(posted).toHaveLength(1);
    expect(incident.outbox).toEqual({ sent: 9 });
    const core = fx.gatehouse.core;
    expect(await countAudit(core, 'ip.blocked', id)).toBe(1);
    expect(await countAudit(core, 'dns.domains_blocked', id)).toBe(1);
    expect(await countAudit(core, 'user.reenroll_required', id)).toBe(1);
    expect(await countAudit(core, 'invite.created', id)).toBe(2);

    // Resuming a finished playbook repeats nothing.
    const again = await incidents.resume(id, { actor: 'test' });
    expect(again.run.ran).toEqual([]);
    expect(deliveriesOf(id).mails).toHaveLength(mails.length);
  });

  it('killed right after revoking sessions: the resumed run starts at re-enrollment', async () => {
    const child = await runChild(fx.configPath, 'step', 'revoke_sessions');
    expect(child.signal).toBe('SIGKILL');
    const [crashed] = await incidents.list();
    const id = crashed!.id;
    const before = await incidents.show(id);
    expect(before.timeline.map((t) => t.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'pending', 'pending', 'pending']);
    expect(deliveriesOf(id).mails).toHaveLength(0);

    const { incident, run } = await incidents.resume(id, { actor: 'test', takeover: true });
    expect(run.ran).toEqual(['force_reenrollment', 'notify', 'export_stix']);
    expect(incident.timeline.every((t) => t.status === 'done' && t.attempts === 1)).toBe(true);
    // Its blocks were already in place (first incident): recorded as such, not re-applied.
    expect(incident.timeline.find((t) => t.step === 'block_domains')!.result).toMatchObject({ blocked: [], alreadyBlocked: ['acme-okta.com'] });
    expect(await countAudit(fx.gatehouse.core, 'session.revoked', id)).toBe(1);
    const { mails, hooks: posted } = deliveriesOf(id);
    expect(new Set(mails.map((m) => m.idempotencyKey)).size).toBe(mails.length);
    expect(mails).toHaveLength(6 + 2);
    expect(posted).toHaveLength(1);
  });

  it('a live holder or one on another host is named in incident_busy, with the takeover command', async () => {
    const declared = await incidents.declare({ title: 'lease drill', users: ['dana@acme.test'] }, { actor: 'test' });
    if (!('incident' in declared)) throw new Error('dry run');
    const id = declared.incident.id;
    const db = fx.gatehouse.core.store.db;
    const until = Date.now() + 3_600_000;
    const hold = (owner: string) => db.updateTable('incidents').set({ lease_owner: owner, lease_until: until, run_state: 'running' }).where('id', '=', id).execute();

    // Another host: its pid cannot be probed from here, so only its expiry or --takeover ends it.
    await hold('db-2.acme.internal/4242/one');
    const busy = await incidents.resume(id, { actor: 'test' }).catch((error: unknown) => error);
    expect(busy).toMatchObject({ code: 'incident_busy' });
    const message = (busy as { publicMessage: string }).publicMessage;
    expect(message).toContain('process 4242 on db-2.acme.internal');
    expect(message).toContain(new Date(until).toISOString());
    expect(message).toContain(`gatehouse incident resume ${id} --takeover`);

    // This host, a live process (this test's parent): still busy.
    await hold(`${encodeURIComponent(hostname())}/${process.ppid}/two`);
    await expect(incidents.resume(id, { actor: 'test' })).rejects.toMatchObject({ code: 'incident_busy' });

    // An owner written before leases named their process: busy, never guessed dead.
    await hold('8f1c2a7e-legacy-uuid');
    await expect(incidents.resume(id, { actor: 'test' })).rejects.toMatchObject({ code: 'incident_busy' });

    // --takeover still overrides any holder.
    const taken = await incidents.resume(id, { actor: 'test', takeover: true });
    expect(taken.run.state).toBe('complete');
    expect(await countAudit(fx.gatehouse.core, 'incident.lease_taken_over', id)).toBe(0);
  });

  it('a dead webhook fails only the notify step; containment is done and resume delivers once', async () => {
    hooks.status = 500;
    const declared = await incidents.declare({ title: 'webhook down', users: ['dana@acme.test'] }, { actor: 'test' });
    if (!('incident' in declared)) throw new Error('dry run');
    const id = declared.incident.id;
    expect(declared.run.state).toBe('incomplete');
    expect(declared.run.failed.map((f) => f.step)).toEqual(['notify']);
    expect(declared.incident.timeline.find((t) => t.step === 'revoke_sessions')!.status).toBe('done');
    expect(declared.incident.timeline.find((t) => t.step === 'notify')!.error).toContain('HTTP 500');
    hooks.status = 200;
    const resumed = await incidents.resume(id, { actor: 'test' });
    expect(resumed.run.state).toBe('complete');
    expect(deliveriesOf(id).hooks).toHaveLength(1);
    expect(new Set(deliveriesOf(id).mails.map((m) => m.idempotencyKey)).size).toBe(deliveriesOf(id).mails.length);
  });
});
