/**
 * THE 2023 DRILL, end to end, against real systems.
 *
 * In 2023 a vendor breach leaked a service token and three service-account credentials; the
 * credentials were "believed unused", were not rotated, and were used to get in. Here the same leak
 * happens to Acme, and every step of the answer is checked against the real thing:
 *
 *  1. The leak: service token `ci-deploy`, PostgreSQL role `billing_svc` (a private cluster that checks
 *     passwords), the `bastion-deploy` SSH key (a real sshd), the `wiki-bot` SaaS token (an exec
 *     rotator), and `legacy-export`, an account on a legacy system the inventory says is believed unused.
 *  2. The token is used from a new address, through instance B: the responders' webhook is alerted.
 *  3. `incident declare --token ci-deploy --credential … --campaign`: the token is revoked, and both
 *     instances sharing the PostgreSQL database refuse it (`service_token_revoked`).
 *  4. `campaign resume` runs the campaign the incident started: every credential is rotated by its
 *     rotator, and the old PostgreSQL password and the old SSH key fail with the real clients.
 *  5. The legacy system is down, so the believed-unused account stays unrevoked: `campaign close` is
 *     refused (`campaign_items_without_evidence`), naming it. Belief is not evidence.
 *  6. The legacy system comes back; `campaign resume` revokes it and probes; `campaign close` succeeds.
 *  7. The audit log holds the story in order, the report every item with its evidence, and no output,
 *     audit event, report or log holds any secret, old or new.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedServiceToken } from '../../src/credentials/index.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../src/credentials/rotation/test-support/private-postgres.js';
import { startPrivateSshd, type PrivateSshd } from '../../src/credentials/rotation/test-support/private-sshd.js';
import type { IncidentView } from '../../src/incident/index.js';
import { cryptoRandom, randomToken } from '../../src/lib/random.js';
import { startWebhookReceiver, type WebhookReceiver } from '../incident/webhook-receiver.js';
import { findExecutable, haveCommand, havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse, type CliResult } from '../support/cli.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { postgresLogin, requestFrom, sshLogin, standInSaas, type StandInSaas } from './drill-2023-systems.js';

const POLL = { timeout: 15_000, interval: 50 };

// The peers: the shared PostgreSQL (Gatehouse's database), a password-checking private cluster, a real sshd.
const sshd = findExecutable('sshd', ['/usr/sbin/sshd']);
const keygen = findExecutable('ssh-keygen');
const ssh = findExecutable('ssh');
let cluster: PrivatePostgres | undefined;
let server: PrivateSshd | undefined;
if ((await havePostgres()) && haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('ssh-keygen') && sshd && keygen) {
  const missing = (peer: string, why: string) => {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: ${peer} (${why})`);
    process.stderr.write(`\n[SKIPPED] the 2023 drill: ${peer}: ${why}\n`);
  };
  const startedPostgres = await startPrivatePostgres();
  if (typeof startedPostgres === 'string') missing('a password-checking PostgreSQL (initdb, pg_ctl)', startedPostgres);
  else {
    const startedSshd = await startPrivateSshd(sshd, keygen);
    if (typeof startedSshd === 'string') {
      await startedPostgres.stop();
      missing('sshd', startedSshd);
    } else [cluster, server] = [startedPostgres, startedSshd];
  }
}

describe.runIf(cluster !== undefined && server !== undefined)('the 2023 drill', () => {
  const db = cluster as PrivatePostgres;
  const bastion = server as PrivateSshd;
  // Made in beforeAll, so that a skipped drill leaves nothing behind.
  let work: string;
  let saas: StandInSaas;
  const at = (name: string) => join(work, name);
  const secrets = { pgOld: randomToken(cryptoRandom, 24), wikiOld: randomToken(cryptoRandom, 32), legacyOld: randomToken(cryptoRandom, 32), pgNew: '', wikiNew: '', sshNew: '' };
  let sshOldKey: Buffer;
  let issued: IssuedServiceToken;
  let upstream: http.Server;
  let hooks: WebhookReceiver;
  let a: GatehouseFixture;
  let b: GatehouseFixture;
  let campaignId: string;
  // Everything the operator saw, for the no-secret check at the end.
  const seen: string[] = [];
  const gatehouse = async (args: string[]): Promise<CliResult> => {
    const result = await runGatehouse(args, { config: a.configPath, cwd: a.dir });
    seen.push(result.stdout, result.stderr);
    return result;
  };
  const alerts = () => hooks.received.map((h) => h.body.text ?? '').filter((text) => text.toLowerCase().includes('service token ci-deploy '));

  function configYaml(adminKey: string): string {
    return `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies:
      - { name: machines, action: allow, include: [{ service_token: [ci-deploy] }] }
service_tokens:
  last_use_flush_ms: 100
incident:
  webhook_url: ${hooks.url}
rotators:
  pg-main:
    type: postgres-role
    admin_url: "${db.adminUrl}"
    probe_url: ${db.probeUrl}
    sink: { type: directory, path: ${at('billing-secrets')} }
  bastion-keys:
    type: ssh-authorized-key
    identity_file: ${adminKey}
    known_hosts_file: ${bastion.knownHostsFile}
    ssh_binary: ${ssh}
    authorized_keys_path: ${bastion.authorizedKeysFile}
    timeout_ms: 20000
    sink: { type: directory, path: ${at('deploy-keys')} }
  saas:
    type: exec
    commands:
      wiki-api: { argv: ${JSON.stringify(saas.rotatorArgv(at('wiki'), at('saas-secrets')))}, timeout_ms: 20000 }
      legacy-api: { argv: ${JSON.stringify(saas.rotatorArgv(at('legacy'), at('saas-secrets')))}, timeout_ms: 20000 }
`;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gatehouse-drill-'));
    saas = standInSaas(work);
    upstream = http.createServer((_req, res) => res.end('deploy upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    hooks = await startWebhookReceiver();

    // The credentials as they are before the breach, each where its service reads it.
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE billing_svc LOGIN PASSWORD ${pg.escapeLiteral(secrets.pgOld)}`);
    await admin.end();
    mkdirSync(at('billing-secrets'), { mode: 0o700 });
    writeFileSync(join(work, 'billing-secrets', 'billing-db.secret'), `${secrets.pgOld}\n`, { mode: 0o600 });

    const adminKey = await bastion.keygen('gatehouse-rotator');
    const deployKey = await bastion.keygen('bastion-deploy');
    writeFileSync(bastion.authorizedKeysFile, `${adminKey.publicKeyLine}\n${deployKey.publicKeyLine}\n`);
    sshOldKey = readFileSync(deployKey.privateKeyFile);
    mkdirSync(at('deploy-keys'), { mode: 0o700 });
    copyFileSync(deployKey.privateKeyFile, join(work, 'deploy-keys', 'bastion-deploy.secret'));
    chmodSync(join(work, 'deploy-keys', 'bastion-deploy.secret'), 0o600);

    saas.provision(at('wiki'), at('saas-secrets'), 'wiki-bot', secrets.wikiOld);
    saas.provision(at('legacy'), at('saas-secrets'), 'export-bot', secrets.legacyOld);

    // Two instances of Gatehouse sharing one fresh PostgreSQL database.
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_drill_2023');
    a = await startFixture({ databaseUrl, extraYaml: configYaml(adminKey.privateKeyFile) });
    b = await startFixture({ databaseUrl, extraYaml: configYaml(adminKey.privateKeyFile) });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await hooks?.close();
    await new Promise((r) => upstream?.close(r));
    await db.stop();
    await bastion.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('1. the inventory knows the three service-account credentials and the legacy account believed unused', async () => {
    issued = await a.gatehouse.serviceTokens.create({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });
    const csv = [
      'name,kind,system,owner,rotator,locator,believed_unused',
      'billing-db,database_role,billing,dba@acme.test,pg-main,"{""role"":""billing_svc""}",false',
      `bastion-deploy,ssh_key,bastion,ops@acme.test,bastion-keys,"{""host"":""127.0.0.1"",""port"":""${bastion.port}"",""user"":""${bastion.user}""}",false`,
      'wiki-bot,api_token,wiki,docs@acme.test,saas,"{""command"":""wiki-api"",""account"":""wiki-bot""}",false',
      'legacy-export,service_account,legacy,data@acme.test,saas,"{""command"":""legacy-api"",""account"":""export-bot""}",true',
    ].join('\n');
    writeFileSync(join(a.dir, 'credentials.csv'), `${csv}\n`);
    const imported = await gatehouse(['inventory', 'import', 'credentials.csv', '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toBe(''); // every rotator named is configured
    expect(JSON.parse(imported.stdout)).toMatchObject({ added: 4 });
    const listed = JSON.parse((await gatehouse(['inventory', 'list', '--external', '--json'])).stdout) as { name: string; believedUnused: boolean }[];
    expect(listed.filter((i) => i.believedUnused).map((i) => i.name)).toEqual(['legacy-export']);
  });

  it('2. the leaked token is used from a new address: the responders are alerted', async () => {
    await b.gatehouse.feed.pollNow();
    expect((await requestFrom(a.port, '127.0.0.1', 'deploy.acme.localhost', issued)).status).toBe(200);
    await expect.poll(async () => (await a.gatehouse.serviceTokens.show('ci-deploy')).lastUsedIp, POLL).toBe('127.0.0.1');
    expect(alerts()).toEqual([]); // the first network is the baseline

    // The attacker, from another /24, through the other instance.
    expect((await requestFrom(b.port, '127.0.1.1', 'deploy.acme.localhost', issued)).status).toBe(200);
    await expect.poll(() => alerts().length, POLL).toBe(1);
    expect(alerts()[0]).toContain('never used (127.0.1.0/24)');
    expect(alerts()[0]).toContain('from 127.0.1.1 on deploy');
  });

  it('3. incident declare --token: revoked first, and refused by both instances (service_token_revoked)', async () => {
    const declared = await gatehouse(['incident', 'declare', '--title', 'vendor breach: CI token and service accounts leaked', '--token', 'ci-deploy',
      '--credential', 'billing-db', '--credential', 'bastion-deploy', '--credential', 'wiki-bot', '--credential', 'legacy-export', '--campaign', '--json']);
    expect(declared.code, declared.stderr).toBe(0);
    const view = JSON.parse(declared.stdout) as IncidentView;
    expect(view.timeline[0]).toMatchObject({ step: 'revoke_credentials', status: 'done', result: { revoked: ['ci-deploy'] } });
    expect(view.campaign).toMatchObject({ items: 5 });
    campaignId = view.campaign!.id;

    await Promise.all([a.gatehouse.feed.pollNow(), b.gatehouse.feed.pollNow()]);
    for (const [fx, from] of [[a, '127.0.0.1'], [b, '127.0.1.1']] as const) {
      const refused = await requestFrom(fx.port, from, 'deploy.acme.localhost', issued);
      expect(refused.status).toBe(403);
      expect(refused.body).not.toContain('revoked'); // one generic answer; the reason is in the audit log
      const { requestId } = JSON.parse(refused.body) as { requestId: string };
      await expect
        .poll(async () => (await fx.gatehouse.core.audit.list({ type: 'service_token.refused' })).find((e) => e.detail.requestId === requestId)?.code, POLL)
        .toBe('service_token_revoked');
    }
  });

  it('4. the campaign rotates everything; the old PostgreSQL password and the old SSH key fail for real', async () => {
    writeFileSync(join(at('legacy'), 'down'), 'the legacy system is unreachable\n'); // it is, this morning
    const run = await gatehouse(['campaign', 'resume', campaignId, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { counts: Record<string, number> }).counts).toEqual({ done: 4, failed: 1 });

    // PostgreSQL, with the real client against the password-checking cluster.
    const pgFile = join(work, 'billing-secrets', 'billing-db.secret');
    expect(statSync(pgFile).mode & 0o777).toBe(0o600);
    const pgNew = readFileSync(pgFile, 'utf8');
    expect(pgNew).not.toBe(secrets.pgOld);
    expect(await postgresLogin(db.probeUrl, 'billing_svc', secrets.pgOld)).toBe('28P01');
    expect(await postgresLogin(db.probeUrl, 'billing_svc', pgNew)).toBe('ok');
    expect(db.log().includes(pgNew)).toBe(false); // ALTER ROLE carried a SCRAM verifier

    // SSH, with the real client against the real sshd.
    const keyFile = (name: string, key: Buffer) => {
      const path = join(mkdtempSync(at('probe-')), name);
      writeFileSync(path, key, { mode: 0o600 });
      return path;
    };
    const sshNewFile = join(work, 'deploy-keys', 'bastion-deploy.secret');
    expect(statSync(sshNewFile).mode & 0o777).toBe(0o600);
    const oldLogin = await sshLogin(ssh as string, bastion, keyFile('old', sshOldKey));
    expect(oldLogin.exitCode).toBe(255);
    expect(oldLogin.stderr).toMatch(/Permission denied \(publickey\)/);
    expect((await sshLogin(ssh as string, bastion, keyFile('new', readFileSync(sshNewFile)))).exitCode).toBe(0);

    // The SaaS token: the SaaS itself refuses the old one and accepts the one delivered.
    const wikiNew = readFileSync(join(at('saas-secrets'), 'wiki-bot.secret'), 'utf8');
    expect(await saas.login(at('wiki'), 'wiki-bot', secrets.wikiOld)).toBe('refused');
    expect(await saas.login(at('wiki'), 'wiki-bot', wikiNew)).toBe('accepted');
    // The believed-unused account was not touched: the system was down.
    expect(await saas.login(at('legacy'), 'export-bot', secrets.legacyOld)).toBe('accepted');
    Object.assign(secrets, { pgNew, wikiNew, sshNew: readFileSync(sshNewFile, 'utf8') });
  });

  it('5. close is refused while the believed-unused account lacks a probed revocation, naming it', async () => {
    const refused = await gatehouse(['campaign', 'close', campaignId]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('[campaign_items_without_evidence]');
    expect(refused.stderr).toMatch(/1 item\(s\) without evidence: legacy-export \(failed: rotator saas: rotation_exec_failed: .*"legacy-api" \(revoke\) exited 3/);
    const status = JSON.parse((await gatehouse(['campaign', 'status', campaignId, '--json'])).stdout) as { status: string; byState: Record<string, number> };
    expect(status).toMatchObject({ status: 'open', byState: { done: 4, failed: 1 } });
  });

  it('6. once the legacy system is back, the account is revoked and probed, and the campaign closes', async () => {
    rmSync(join(at('legacy'), 'down'));
    const run = await gatehouse(['campaign', 'resume', campaignId, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { counts: Record<string, number> }).counts).toEqual({ done: 5 });
    expect(await saas.login(at('legacy'), 'export-bot', secrets.legacyOld)).toBe('refused');
    const closed = await gatehouse(['campaign', 'close', campaignId, '--json']);
    expect(closed.code, closed.stderr).toBe(0);
    expect(JSON.parse(closed.stdout)).toMatchObject({ campaign: campaignId, status: 'closed' });
  });

  it('7. the report and the audit log hold the whole story, and no secret anywhere', async () => {
    const report = await gatehouse(['campaign', 'report', campaignId, '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    const { campaign, items } = JSON.parse(report.stdout) as { campaign: { status: string; reason: string }; items: { name: string; endState: string; believedUnused: boolean; attempts: number; evidence: { kind: string; detail: Record<string, unknown> } }[] };
    expect(campaign).toMatchObject({ status: 'closed', reason: expect.stringContaining('vendor breach') as string });
    const byName = Object.fromEntries(items.map((i) => [i.name, i]));
    expect(Object.keys(byName).sort()).toEqual(['bastion-deploy', 'billing-db', 'ci-deploy', 'legacy-export', 'wiki-bot']);
    expect(byName['ci-deploy']).toMatchObject({ endState: 'revoked', evidence: { kind: 'revocation_probed', detail: { status: 'revoked' } } });
    expect(byName['billing-db']).toMatchObject({ endState: 'rotated', evidence: { kind: 'old_credential_refused' } });
    expect(String(byName['billing-db']!.evidence.detail.answer)).toMatch(/^28P01 /);
    expect(byName['bastion-deploy']).toMatchObject({ endState: 'rotated', evidence: { kind: 'old_credential_refused', detail: { previousAcceptedBefore: true, newCredential: 'accepted' } } });
    expect(String(byName['bastion-deploy']!.evidence.detail.answer)).toMatch(/Permission denied \(publickey\)/);
    expect(byName['wiki-bot']).toMatchObject({ endState: 'rotated', evidence: { kind: 'old_credential_refused', detail: { answer: '401 from wiki for wiki-bot' } } });
    expect(byName['legacy-export']).toMatchObject({ endState: 'revoked', believedUnused: true, attempts: 2, evidence: { kind: 'revocation_probed', detail: { answer: '401 from legacy for export-bot' } } });
    const html = await gatehouse(['campaign', 'report', campaignId, '--format', 'html']);
    for (const name of Object.keys(byName)) expect(html.stdout).toContain(`<td>${name}</td>`);
    for (const evidence of ['old_credential_refused', 'revocation_probed', '28P01']) expect(html.stdout).toContain(evidence);

    // The audit log, oldest first: alert, incident, revocation, campaign, every item closed on evidence, close.
    const audit = await gatehouse(['audit', 'query']);
    expect(audit.code, audit.stderr).toBe(0);
    const events = audit.stdout.trim().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string; code: string; detail: Record<string, unknown> });
    const seqOf = (what: string, match: (e: (typeof events)[number]) => boolean) => {
      const found = events.find(match);
      expect(found, what).toBeDefined();
      return found!.seq;
    };
    const item = (type: string, name: string) => (e: (typeof events)[number]) => e.type === type && e.detail.campaign === campaignId && e.detail.item === name;
    const story = [
      seqOf('anomaly alert', (e) => e.type === 'incident.alert' && e.code === 'service_token_anomaly' && e.detail.name === 'ci-deploy' && e.detail.network === '127.0.1.0/24'),
      seqOf('incident declared', (e) => e.type === 'incident.declared'),
      seqOf('token revoked', (e) => e.type === 'service_token.revoked' && e.detail.name === 'ci-deploy'),
      seqOf('campaign started', (e) => e.type === 'campaign.started' && e.detail.campaign === campaignId),
      seqOf('legacy-export failed', item('campaign.item_failed', 'legacy-export')),
      seqOf('legacy-export revoked', item('campaign.item_closed', 'legacy-export')),
      seqOf('campaign closed', (e) => e.type === 'campaign.closed' && e.detail.campaign === campaignId),
    ];
    expect(story).toEqual([...story].sort((x, y) => x - y));
    for (const [name, endState, evidence] of [['ci-deploy', 'revoked', 'revocation_probed'], ...['billing-db', 'bastion-deploy', 'wiki-bot'].map((n) => [n, 'rotated', 'old_credential_refused'])]) {
      const closed = events.filter(item('campaign.item_closed', name!));
      expect(closed.map((e) => e.detail)).toMatchObject([{ endState, evidence }]);
      expect(closed[0]!.seq).toBeGreaterThan(story[3]!);
      expect(closed[0]!.seq).toBeLessThan(story[6]!);
    }
    expect(events.filter((e) => e.type === 'service_token.refused' && e.code === 'service_token_revoked')).toHaveLength(2);

    // No secret, old or new, in anything the operator, the responders or the auditors see.
    // A private key's base64 lines past the common header and the public key: the key material.
    const keyLines = (key: string) => key.split('\n').filter((line) => /^[A-Za-z0-9+/=]{24,}$/.test(line)).slice(2);
    const all = [...seen, JSON.stringify(hooks.received), ...a.logs, ...b.logs].join('\n');
    const { sshNew, ...plain } = secrets;
    const values = [issued.secret, ...Object.values(plain), ...keyLines(sshOldKey.toString()), ...keyLines(sshNew)];
    expect(keyLines(sshNew).length).toBeGreaterThanOrEqual(2);
    expect(keyLines(sshOldKey.toString()).length).toBeGreaterThanOrEqual(2);
    for (const value of values) {
      expect(value.length).toBeGreaterThanOrEqual(24);
      expect(all.includes(value)).toBe(false);
    }
  });
});
