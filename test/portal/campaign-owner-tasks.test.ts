/**
 * Owner tasks of a rotation campaign end to end, over real sockets: the CLI starts a campaign and
 * mails each owner their one-time link through a real SMTP server; the owner answers it in the portal,
 * signed in with a (software) security key; a different admin approves; the campaign closes. Every
 * refusal is checked by the code it leaves in the audit log, and no link token reaches the audit log
 * or the server's logs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { startMailSink, type MailSink } from '../incident/mail-sink.js';
import { runGatehouse } from '../support/cli.js';
import { fixtureConfigYaml, freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const PASSWORD = 'correct horse battery staple';
let fx: GatehouseFixture;
let mail: MailSink;
const gatehouse = (args: string[], config = fx.configPath) => runGatehouse(args, { config, cwd: fx.dir });

const smtpYaml = (port: number) => `incident:
  smtp:
    host: 127.0.0.1
    port: ${port}
    from: security@acme.test
    connection_timeout_ms: 2000
`;

beforeAll(async () => {
  mail = await startMailSink();
  fx = await startFixture({ legacy: { password: true, totp: true }, extraYaml: smtpYaml(mail.port) });
});
afterAll(async () => {
  await fx?.close();
  await mail?.close();
});

async function auditRows(type: string) {
  return fx.gatehouse.core.store.db.selectFrom('audit_events').select(['code', 'detail', 'user_id']).where('type', '=', type).orderBy('seq').execute();
}
const lastCode = async (type: string) => (await auditRows(type)).at(-1)?.code;

/** The CSRF token of `browser` (a page load sets the cookie; the page's meta tag echoes it). */
async function csrfOf(browser: TestBrowser): Promise<string> {
  const page = await browser.fetch(`${fx.portalOrigin}/sign-in?step_up=1`);
  return /name="csrf-token" content="([^"]*)"/.exec(page.body)![1]!;
}

async function postForm(browser: TestBrowser, path: string, fields: Record<string, string>, options: { csrf?: boolean } = {}) {
  const body = new URLSearchParams({ ...(options.csrf === false ? {} : { _csrf: await csrfOf(browser) }), ...fields }).toString();
  return browser.fetch(`${fx.portalOrigin}${path}`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body });
}

/** Starts a campaign over `scope` with the CLI and returns its id, its output and the mails it sent. */
async function campaign(scope: string, config?: string) {
  const before = mail.messages.length;
  const run = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--scope', scope, '--json'], config);
  expect(run.code, run.stderr).toBe(0);
  const result = JSON.parse(run.stdout) as { campaign: string; ownerTasks: { item: string; owner: string; notifiedVia?: string; notNotified?: string; link?: string }[] };
  // Owner-task mails only: the running server's outbox (key-change notices) shares this sink and may
  // deliver while the CLI runs.
  const mails = mail.messages.slice(before).filter((message) => message.subject.startsWith('Action needed: rotate '));
  return { ...result, stdout: run.stdout, mails };
}

const linkIn = (text: string) => /http:\/\/sso\.acme\.localhost:\d+(\/campaigns\/tasks\/[A-Za-z0-9_-]{43})/.exec(text)?.[1];
const tokenOf = (path: string) => path.split('/').at(-1)!;

describe('owner tasks: a link in the mail, answered by its owner with a key, approved by a different admin', () => {
  const links = new Map<string, string>();
  let jira: Awaited<ReturnType<typeof campaign>>;
  let owner: TestBrowser;
  let admin: TestBrowser;

  beforeAll(async () => {
    for (const args of [
      ['inventory', 'add', 'jira-bot', '--kind', 'api_token', '--system', 'jira', '--owner', 'pm@acme.test'],
      ['inventory', 'add', 'legacy-ftp', '--kind', 'service_account', '--system', 'ftp', '--owner', 'pm@acme.test', '--believed-unused'],
      ['inventory', 'add', 'wiki-bot', '--kind', 'service_account', '--system', 'wiki', '--owner', 'ops@acme.test'],
    ]) expect((await gatehouse(args)).code).toBe(0);
    owner = new TestBrowser(fx.port);
    admin = new TestBrowser(fx.port);
    // The owner is an admin too: the one thing an admin may not approve is their own task.
    await enrolThroughPortal(fx, owner, 'pm@acme.test', ['admins']);
    await enrolThroughPortal(fx, admin, 'sec@acme.test', ['admins']);
    jira = await campaign('system=jira');
    const other = await campaign('system=ftp,system=wiki');
    for (const m of [...jira.mails, ...other.mails]) links.set(/rotate (\S+)/.exec(m.subject)![1]!, linkIn(m.text)!);
  });

  it('mails each owner which credential, which campaign, why and what to do, with the link; the CLI does not print a sent link', () => {
    expect(jira.mails).toHaveLength(1);
    const [message] = jira.mails;
    expect(message).toMatchObject({ to: ['pm@acme.test'], from: 'security@acme.test', subject: 'Action needed: rotate jira-bot (jira)' });
    expect(message!.text).toContain('"jira-bot" (api_token) on jira');
    expect(message!.text).toContain(`"vendor breach" (${jira.campaign})`);
    expect(message!.text).toContain('no rotator is configured');
    expect(message!.text).toContain('sign in with your security key');
    expect(message!.idempotencyKey).toMatch(new RegExp(`^campaign-task:${jira.campaign}:inventory:[^:]+:1$`));
    expect(links.get('jira-bot')).toMatch(/^\/campaigns\/tasks\/[A-Za-z0-9_-]{43}$/);
    expect(jira.ownerTasks).toEqual([expect.objectContaining({ item: 'jira-bot', notifiedVia: 'email' })]);
    expect(jira.stdout).not.toContain(tokenOf(links.get('jira-bot')!));
    expect([...links.keys()].sort()).toEqual(['jira-bot', 'legacy-ftp', 'wiki-bot']);
  });

  it('sends a browser without a session to sign in and back, with no Referer and nothing cached', async () => {
    const res = await new TestBrowser(fx.port).fetch(`${fx.portalOrigin}${links.get('jira-bot')}`);
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${fx.portalOrigin}/sign-in?return_to=${encodeURIComponent(links.get('jira-bot')!)}`);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses someone else signed in with a key: one generic answer, campaign_task_not_owner in the audit log', async () => {
    const eve = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, eve, 'eve@acme.test');
    const seen = await eve.fetch(`${fx.portalOrigin}${links.get('jira-bot')}`);
    expect(seen.status).toBe(404);
    expect(seen.body).not.toContain('jira-bot');
    expect(await lastCode('campaign.task_refused')).toBe('campaign_task_not_owner');
    const posted = await postForm(eve, links.get('jira-bot')!, { statement: 'rotated it' });
    expect(posted.status).toBe(404);
    expect(posted.body).toContain('This link cannot be used');
    expect(await lastCode('campaign.task_refused')).toBe('campaign_task_not_owner');
  });

  it('refuses the owner signed in with password and TOTP (what a relay can phish): key_proof_required', async () => {
    const { identity } = fx.gatehouse.core;
    const ops = await identity.users.add({ email: 'ops@acme.test' });
    await identity.legacy.setPassword(ops.id, PASSWORD);
    const secret = await identity.legacy.enrollTotp(ops.id);
    const browser = new TestBrowser(fx.port);
    const signedIn = await postForm(browser, '/sign-in/password', { email: 'ops@acme.test', password: PASSWORD, code: await LegacyFactors.codeFor(secret, Date.now()), return_to: '/account' });
    expect(signedIn.status).toBe(303);
    const link = links.get('wiki-bot')!;
    expect((await browser.fetch(`${fx.portalOrigin}${link}`)).status).toBe(403);
    expect(await lastCode('campaign.task_refused')).toBe('key_proof_required');
    expect((await postForm(browser, link, { statement: 'rotated' })).status).toBe(403);
    expect(await lastCode('campaign.task_refused')).toBe('key_proof_required');
    const item = await fx.gatehouse.core.store.db.selectFrom('campaign_items').select(['state', 'task_token_hash']).where('name', '=', 'wiki-bot').executeTakeFirstOrThrow();
    expect(item.state).toBe('owner_task');
    expect(item.task_token_hash).not.toBeNull();
  });

  it('shows the owner the task; refuses a post without the CSRF token; records the answer once; a reused link is campaign_task_link_invalid', async () => {
    const link = links.get('jira-bot')!;
    const page = await owner.fetch(`${fx.portalOrigin}${link}`);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    for (const shown of ['jira-bot', 'api_token', 'jira', 'vendor breach', 'no rotator is configured']) expect(page.body).toContain(shown);

    const forged = await postForm(owner, link, { statement: 'rotated' }, { csrf: false });
    expect(forged.status).toBe(403);
    expect(await lastCode('campaign.task_refused')).toBe('csrf_token');

    const answered = await postForm(owner, link, { statement: 'regenerated the API token in Jira; the old one answers 401' });
    expect(answered.status).toBe(200);
    expect(answered.body).toContain('An administrator will approve it');
    const attested = await auditRows('campaign.attested');
    expect(attested.at(-1)?.detail).toContain('"as":"owner"');

    const replayed = await postForm(owner, link, { statement: 'again' });
    expect(replayed.status).toBe(404);
    expect(await lastCode('campaign.task_refused')).toBe('campaign_task_link_invalid');
    expect((await owner.fetch(`${fx.portalOrigin}${link}`)).status).toBe(404);
  });

  it('an item believed unused is never closed by an attestation: campaign_belief_not_evidence', async () => {
    const res = await postForm(owner, links.get('legacy-ftp')!, { statement: 'nobody uses it' });
    expect(res.status).toBe(409);
    expect(await lastCode('campaign.task_refused')).toBe('campaign_belief_not_evidence');
  });

  it('the owner cannot approve their own task (campaign_attestation_same_admin); a different admin can, and the campaign closes', async () => {
    const approvals = `/campaigns/${jira.campaign}/approvals`;
    const listed = await owner.fetch(`${fx.portalOrigin}${approvals}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toContain('jira-bot');
    const key = /name="item" value="([^"]+)"/.exec(listed.body)![1]!;

    const own = await postForm(owner, approvals, { item: key, statement: 'I checked it myself' });
    expect(own.status).toBe(409);
    expect(await lastCode('campaign.approval_refused')).toBe('campaign_attestation_same_admin');

    const noCsrf = await postForm(admin, approvals, { item: key, statement: 'checked' }, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(await lastCode('campaign.approval_refused')).toBe('csrf_token');

    const approved = await postForm(admin, approvals, { item: key, statement: 'old token answers 401 in Jira' });
    expect(approved.status).toBe(303);
    const [item] = await fx.gatehouse.core.store.db.selectFrom('campaign_items').select(['state', 'done_by', 'evidence']).where('campaign_id', '=', jira.campaign).execute();
    expect(item).toMatchObject({ state: 'done', done_by: 'pm@acme.test, sec@acme.test' });
    const close = await gatehouse(['campaign', 'close', jira.campaign]);
    expect(close.code, close.stderr).toBe(0);
  });

  it('a non-admin is refused the approval page (admin_forbidden); the CLI records no attestation and names the page', async () => {
    const eve = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, eve, 'eve2@acme.test');
    const other = JSON.parse((await gatehouse(['campaign', 'list', '--json'])).stdout) as { id: string; status: string }[];
    const open = other.find((c) => c.status === 'open')!;
    expect((await eve.fetch(`${fx.portalOrigin}/campaigns/${open.id}/approvals`)).status).toBe(403);
    expect(await lastCode('admin.denied')).toBe('admin_forbidden');
    const attest = await gatehouse(['campaign', 'attest', open.id, '--json']);
    expect(attest.code).toBe(0);
    expect(JSON.parse(attest.stdout)).toMatchObject({ approvalUrl: `${fx.gatehouse.portalUrl}/campaigns/${open.id}/approvals`, tasks: expect.arrayContaining([expect.objectContaining({ item: 'wiki-bot', attestedBy: [] })]) });
    // `--as` is gone: one operator cannot be two people.
    expect((await gatehouse(['campaign', 'attest', open.id, 'wiki-bot', '--as', 'x@acme.test', '--statement', 's'])).code).not.toBe(0);
  });

  it('never writes a link token to the audit log or the server log', async () => {
    const audit = (await fx.gatehouse.core.store.db.selectFrom('audit_events').select(['detail', 'actor']).execute()).map((r) => `${r.detail} ${r.actor}`).join('\n');
    const logs = fx.logs.join('');
    expect(links.size).toBe(3);
    for (const link of links.values()) {
      expect(audit).not.toContain(tokenOf(link));
      expect(logs).not.toContain(tokenOf(link));
    }
  });
});

describe('when the mail does not go out', () => {
  it('a failed send leaves the item open and prints the link for the operator', async () => {
    await gatehouse(['inventory', 'add', 'crm-bot', '--kind', 'api_token', '--system', 'crm', '--owner', 'sales@acme.test']);
    const deadConfig = join(fx.dir, 'dead-smtp.yaml');
    writeFileSync(deadConfig, fixtureConfigYaml({ legacy: { password: true, totp: true }, port: fx.port, dir: fx.dir, extraYaml: smtpYaml(await freePort()) }));
    const run = await campaign('system=crm', deadConfig);
    expect(run.mails).toEqual([]);
    expect(run.ownerTasks).toEqual([expect.objectContaining({ item: 'crm-bot', notNotified: expect.stringContaining('sending failed') })]);
    const link = run.ownerTasks[0]!.link!;
    expect(link).toMatch(new RegExp(`^${fx.gatehouse.portalUrl}/campaigns/tasks/[A-Za-z0-9_-]{43}$`));
    const item = await fx.gatehouse.core.store.db.selectFrom('campaign_items').select('state').where('campaign_id', '=', run.campaign).executeTakeFirstOrThrow();
    expect(item.state).toBe('owner_task');
    const event = (await auditRows('campaign.owner_task')).at(-1)!;
    expect(event.detail).toContain('"notified":"no"');
    expect(event.detail).not.toContain(tokenOf(link));
  });
});
