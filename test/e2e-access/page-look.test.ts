/**
 * Every page a person can reach, in real Chromium at 1280 and 390 px: the portal (sign-in, sign-in to
 * an app, step-up, enrolment, account, re-enrolment notice, sign-out, the command line's consent), a
 * rotation campaign's owner task (the mailed link, the answer, the spent link) and its approval page, a
 * refusal, the errors (400, 403, 404, 421, 429, 500, 502, 503), the IP block on the portal and on an
 * app, and the DNS block page. Each must wear the one look (header, card, footer, the inline stylesheet applied under the
 * CSP), say who is signed in where someone is, offer a way on, log no console error (a CSP violation
 * is one), and pass axe-core with no serious or critical violation. Screenshots go to a temp folder.
 *
 * Every page is the real server's answer to a real request: the 500 comes from a store query that
 * fails, the 502 from an app whose upstream is down, and the DNS block page from the browser resolving
 * a lookalike through Gatehouse's own DNS over HTTPS (the last test says how).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSelfSignedCertificate } from '../../src/cli/demo-config.js';
import { startRdapFixture } from '../../src/intel/domain-age/test-support/rdap-fixture-server.js';
import { clickAndLand, clickAndReadError } from '../e2e/portal-steps.js';
import { CHROMIUM_PATH, haveChromium, haveCommand } from '../peers.js';
import { CHROMIUM_ARGS, KeyedPage, launchChromium, watchConsoleErrors } from '../support/browser.js';
import { pkce, TEST_REDIRECT_URI } from '../support/cli-login-steps.js';
import { freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startMailSink, type MailSink } from '../incident/mail-sink.js';
import { runGatehouse } from '../support/cli.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const EMAIL = 'pat@acme.test';
const ADMIN_EMAIL = 'sam@acme.test';
const WIDTHS = [1280, 390] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

function configYaml(upstream: UpstreamApp, hanging: number, closed: number, mailPort: number): string {
  const open = `[{ name: open, action: bypass, include: [{ everyone: true }] }]`;
  return `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${upstream.url}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
  - name: payroll
    host: payroll.acme.localhost
    upstream: ${upstream.url}
    policies:
      - { name: hardware-keys, action: allow, include: [{ group: [staff] }], require: [{ auth_method: [hwk] }] }
  - name: reports
    host: reports.acme.localhost
    upstream: http://127.0.0.1:${closed}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
  - name: busy
    host: busy.acme.localhost
    upstream: http://127.0.0.1:${hanging}
    max_connections: 1
    max_queued_requests: 0
    policies: ${open}
  - name: crowded
    host: crowded.acme.localhost
    upstream: http://127.0.0.1:${hanging}
    max_requests_per_client: 1
    policies: ${open}
incident:
  smtp: { host: 127.0.0.1, port: ${mailPort}, from: security@acme.test, connection_timeout_ms: 2000 }
`;
}

describe.runIf(haveChromium())('every page a person can reach', { timeout: 240_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let upstream: UpstreamApp;
  let hanging: Server;
  let mail: MailSink;
  let shots: string;
  let axeSource: string;
  const shot: string[] = [];
  const statuses = new Set<number>();

  const at = (host: string, path: string) => `http://${host}.acme.localhost:${fixture.port}${path}`;
  const portal = (path: string) => `${fixture.portalOrigin}${path}`;

  beforeAll(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    // PAGE_SHOTS_DIR keeps the screenshots for a person to look at; otherwise a temp folder, removed.
    shots = process.env.PAGE_SHOTS_DIR ?? (await mkdtemp(join(tmpdir(), 'gatehouse-pages-')));
    upstream = await startUpstreamApp('wiki');
    // Accepts and never answers: holds the one connection (busy) or the client's one slot (crowded).
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const closed = await freePort();
    mail = await startMailSink();
    fixture = await startFixture({ domain: 'acme.localhost', extraYaml: configYaml(upstream, (hanging.address() as AddressInfo).port, closed, mail.port) });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
    await upstream?.close();
    await mail?.close();
    hanging?.closeAllConnections();
    await new Promise((resolve) => hanging?.close(resolve));
    if (shots && !process.env.PAGE_SHOTS_DIR) await rm(shots, { recursive: true, force: true });
  });

  /** Console errors of `page` from now on; a failed load of the page itself (its 4xx/5xx status) is not one. */

  /**
   * The checks every page gets, at both widths. `who` is the signed-in person the page must name;
   * `text` a phrase that says what happened.
   */
  async function audit(page: Page, name: string, expected: { text: string | RegExp; who?: string }): Promise<void> {
    const errors = watchConsoleErrors(page);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      const look = (await page.evaluate(`(() => {
        const body = getComputedStyle(document.documentElement);
        return {
          header: !!document.querySelector('header.top .org'),
          card: !!document.querySelector('main .card h1'),
          footer: !!document.querySelector('footer'),
          background: body.backgroundColor,
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          text: document.body.innerText.replace(/\\s+/g, ' '),
          ways: document.querySelectorAll('main a[href], main button:not([disabled])').length,
        };
      })()`)) as { header: boolean; card: boolean; footer: boolean; background: string; overflow: number; text: string; ways: number };
      expect({ name, width, header: look.header, card: look.card, footer: look.footer }).toEqual({ name, width, header: true, card: true, footer: true });
      // The inline stylesheet applied (a CSP that refused it would leave the default white).
      expect(look.background, `${name} at ${width}: stylesheet not applied`).toBe('rgb(244, 246, 249)');
      expect(look.overflow, `${name} at ${width}: the page scrolls sideways`).toBeLessThanOrEqual(0);
      expect(look.text).toMatch(expected.text);
      if (expected.who) expect(look.text).toContain(expected.who);
      expect(look.ways, `${name}: no way on`).toBeGreaterThan(0);

      // Evaluated over CDP, which the page's CSP does not govern (an injected <script> would be refused).
      await page.evaluate(axeSource);
      const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))`)) as AxeViolation[];
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), `${name} at ${width}`).toEqual([]);

      const path = join(shots, `${name}-${width}.png`);
      await page.screenshot({ path, fullPage: true });
      expect((await stat(path)).size, `${path} is too small to show a page`).toBeGreaterThan(8_000);
      shot.push(path);
    }
    expect(errors, name).toEqual([]);
  }

  async function visit(page: Page, url: string, status: number): Promise<void> {
    const response = await page.goto(url);
    expect({ url, status: response?.status() }).toEqual({ url, status });
    statuses.add(status);
  }

  it('each page shares the look, says what happened, who is signed in and what to do next', async () => {
    const { tab } = await KeyedPage.open(browser);
    const { page } = tab;
    try {
      // Before any key: the sign-in page, and what a person without a key is told.
      await visit(page, portal('/sign-in'), 200);
      await audit(page, 'sign-in', { text: /Sign in.*security key or passkey/ });
      await expect(clickAndReadError(page, '#sign-in-key')).resolves.toContain('If you have not set up a security key or passkey for this site yet');

      await visit(page, at('nothing', '/'), 421);
      await audit(page, '421-unknown-host', { text: 'This address does not belong to any app here.' });
      await visit(page, portal('/no-such-page'), 404);
      await audit(page, '404', { text: 'There is nothing at this address.' });
      await visit(page, portal('/enroll?token=not-a-real-invite'), 400);
      await audit(page, '400-enrol-link', { text: 'This link cannot be used' });

      // An app sends the person to sign in: the page names the app.
      const toWiki = await page.goto(at('wiki', '/handbook'));
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      statuses.add(toWiki!.status());
      await audit(page, 'sign-in-to-app', { text: 'Sign in to wiki' });

      const invite = await fixture.gatehouse.core.identity.invite({ email: EMAIL, groups: ['staff'], actor: 'test' });
      await visit(page, invite.url, 200);
      await audit(page, 'enrol', { text: `Register a security key or passkey for ${EMAIL}` });
      await page.locator('#key-name').fill('Pat laptop');
      await clickAndLand(page, '#enroll-key', /\/account\?enrolled=1$/);
      await audit(page, 'account', { text: /Your security key is registered.*Passkey.*Chrome \(headless\) on Linux/, who: EMAIL });
      // One key: its Remove button is disabled, with a real title attribute (not escaped text).
      await expect(page.locator('button.danger[disabled]').getAttribute('title')).resolves.toBe('Your only key cannot be removed: add another key first');

      // A real fault: the account page's store query fails. The credentials table is renamed away in
      // this instance's own database, as a half-applied migration or a hand edit would leave it; SQLite
      // answers "no such table", a fault (500), not an outage (503). Renamed back at once.
      await sql`ALTER TABLE credentials RENAME TO credentials_away`.execute(fixture.gatehouse.core.store.db);
      try {
        await visit(page, portal('/account'), 500);
        await audit(page, '500', { text: /Something went wrong on our side.*Reference for your IT team/ });
        const reference = await page.locator('main code').innerText();
        expect(fixture.logs.some((line) => line.includes('unhandled error') && line.includes(reference) && line.includes('no such table'))).toBe(true);
      } finally {
        await sql`ALTER TABLE credentials_away RENAME TO credentials`.execute(fixture.gatehouse.core.store.db);
      }

      // `gatehouse login`'s consent page (the key proof from enrolment is still fresh).
      const authorize = new URL('/cli/authorize', fixture.portalOrigin);
      const { challenge } = pkce();
      for (const [key, value] of Object.entries({ response_type: 'code', client_id: 'gatehouse-cli', redirect_uri: TEST_REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256', state: 'state-0123456789' })) {
        authorize.searchParams.set(key, value);
      }
      await visit(page, authorize.toString(), 200);
      await audit(page, 'cli-consent', { text: 'Sign in the command line?', who: EMAIL });

      await visit(page, portal('/sign-in?step_up=1&return_to=%2Faccount'), 200);
      await audit(page, 'step-up', { text: 'Confirm it’s you', who: EMAIL });

      // A rotation campaign's owner task: the CLI starts the campaign, the owner follows the mailed
      // link (with the key proof from enrolment still fresh), answers, and cannot use it twice.
      const cli = (args: string[]) => runGatehouse(args, { config: fixture.configPath, cwd: fixture.dir });
      expect((await cli(['inventory', 'add', 'jira-bot', '--kind', 'api_token', '--system', 'jira', '--owner', EMAIL])).code).toBe(0);
      const started = await cli(['campaign', 'start', '--reason', 'vendor breach', '--scope', 'system=jira', '--json']);
      expect(started.code, started.stderr).toBe(0);
      const campaignId = (JSON.parse(started.stdout) as { campaign: string }).campaign;
      // The task mail by its subject, not the newest message: the key-change notice for Pat's enrolment
      // goes out through the server's outbox and may land after the CLI's synchronous send.
      const taskMail = mail.messages.find((message) => message.to.includes(EMAIL) && message.subject.startsWith('Action needed: rotate jira-bot'));
      const taskLink = /http:\/\/sso\.acme\.localhost:\d+\/campaigns\/tasks\/[A-Za-z0-9_-]{43}/.exec(taskMail?.text ?? '')?.[0];
      expect(taskLink, 'the owner task mail holds the link').toBeDefined();
      await visit(page, taskLink!, 200);
      await audit(page, 'campaign-task', { text: /Credential rotation task.*vendor breach.*jira-bot.*jira/, who: EMAIL });
      await page.locator('#statement').fill('Revoked the token in Jira and checked that the old one is refused.');
      const answered = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.locator('main button.block').click();
      expect((await answered).status()).toBe(200);
      await page.waitForLoadState();
      await audit(page, 'campaign-task-recorded', { text: /Recorded\. An administrator will approve it; until then jira-bot stays open\./, who: EMAIL });
      await visit(page, taskLink!, 404);
      await audit(page, 'campaign-task-used', { text: 'This link cannot be used.', who: EMAIL });

      // A different admin approves it on the campaign's approvals page.
      const { tab: adminTab } = await KeyedPage.open(browser);
      try {
        const adminInvite = await fixture.gatehouse.core.identity.invite({ email: ADMIN_EMAIL, groups: ['admins'], actor: 'test' });
        await adminTab.page.goto(adminInvite.url);
        await adminTab.page.locator('#key-name').fill('Sam laptop');
        await clickAndLand(adminTab.page, '#enroll-key', /\/account\?enrolled=1$/);
        await visit(adminTab.page, portal(`/campaigns/${campaignId}/approvals`), 200);
        await audit(adminTab.page, 'campaign-approvals', { text: /Owner tasks awaiting approval.*jira-bot.*pat@acme\.test/, who: ADMIN_EMAIL });
        await adminTab.page.locator('main textarea[name=statement]').fill('Checked in Jira: the old token is refused.');
        await clickAndLand(adminTab.page, 'main form button', /\/approvals\?approved=1$/);
        await audit(adminTab.page, 'campaign-approved', { text: 'Approval recorded.', who: ADMIN_EMAIL });
      } finally {
        await adminTab.context.close();
      }

      // A refusal: the app, the account, and two ways on.
      await visit(page, at('payroll', '/salaries'), 403);
      await audit(page, '403-denied', { text: /You cannot open payroll.*hardware security key.*A passkey is not enough/, who: EMAIL });
      await page.getByRole('link', { name: 'Use another account' }).click();
      await page.waitForURL(/\/sign-out\?return_to=/);
      await audit(page, 'use-another-account', { text: 'Use another account?', who: EMAIL });

      // An app that needs sign-in, whose upstream is down: the gateway signed the person in before
      // forwarding, so its 502 names them.
      await visit(page, at('reports', '/'), 502);
      await audit(page, '502', { text: /reports is not answering.*You are signed in as pat@acme\.test.*not a problem with your account/, who: EMAIL });

      // Overload: a second tab holds the one connection (busy) or this client's one slot (crowded).
      const holder = await tab.context.newPage();
      void holder.goto(at('busy', '/hold')).catch(() => {});
      await expect.poll(() => hangingConnections(), { timeout: 10_000 }).toBeGreaterThan(0);
      await visit(page, at('busy', '/'), 503);
      await audit(page, '503-busy', { text: /busy is busy.*try again/ });
      const crowder = await tab.context.newPage();
      void crowder.goto(at('crowded', '/hold')).catch(() => {});
      await expect.poll(() => hangingConnections(), { timeout: 10_000 }).toBeGreaterThan(1);
      await visit(page, at('crowded', '/'), 429);
      await audit(page, '429-crowded', { text: /Too many requests from your device/ });
      await holder.close();
      await crowder.close();

      // An incident flags the person for re-enrolment: the account page says so.
      await fixture.gatehouse.core.identity.users.setReenrollRequired(invite.user.id, true);
      await visit(page, portal('/account'), 200);
      await audit(page, 'account-reenrol', { text: 'Your security team asks you to set up your key again.', who: EMAIL });

      // Sign out from the "use another account" page: back on sign-in, with a notice, for the app.
      await visit(page, portal(`/sign-out?return_to=${encodeURIComponent(at('payroll', '/salaries'))}`), 200);
      await clickAndLand(page, 'main button.block', /\/sign-in\?signed_out=1/);
      await audit(page, 'signed-out', { text: /Sign in to payroll\.acme\.localhost.*You are signed out\./ });

      // Signing in again while flagged: the account page's notice first, then a link on to payroll.
      await clickAndLand(page, '#sign-in-key', /\/account\?continue=/);
      await audit(page, 'after-sign-in-reenrol', { text: /set up your key again.*Continue where you were going/, who: EMAIL });
      await expect(page.getByRole('link', { name: 'Continue where you were going' }).getAttribute('href')).resolves.toBe(at('payroll', '/salaries'));

      // The address is blocked: the portal and the app refuse it, each with a whole page.
      for (const cidr of ['127.0.0.1/32', '::1/128']) await fixture.gatehouse.access.ipBlocks.block(cidr, { reason: 'page test', actor: 'test' });
      await expect.poll(async () => (await page.goto(portal('/sign-in')))?.status(), { timeout: 10_000 }).toBe(403);
      await audit(page, 'ip-block-portal', { text: /Your network is blocked.*another network/ });
      await expect.poll(async () => (await page.goto(at('wiki', '/')))?.status(), { timeout: 10_000 }).toBe(403);
      await audit(page, 'ip-block-app', { text: /You cannot open wiki from this network.*network address is blocked.*another network/ });
    } finally {
      await tab.context.close();
    }
    expect([400, 403, 404, 421, 429, 502, 503].filter((s) => !statuses.has(s))).toEqual([]);
    expect(shot.length).toBe(25 * WIDTHS.length);
  });

  // The block page as a person meets it: Chromium's own secure DNS ("Use secure DNS", custom provider)
  // set to the personal DoH URL `gatehouse dns token` prints, over HTTPS (no browser accepts a plain
  // http DoH URL), so the browser itself resolves the lookalike through Gatehouse's DNS gateway, gets
  // the block page address (127.0.0.1 here) and opens the typed http:// address there. The host
  // resolver rules still refuse every other name, so nothing leaves the machine; the one name let
  // through goes to the configured DoH server. The certificate is self-signed and trusted by its key
  // alone (--ignore-certificate-errors-spki-list), as a company would install its own.
  it.runIf(haveCommand('openssl'))('the DNS block page, reached through Gatehouse\'s DoH by the browser itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-block-page-'));
    const rdap = await startRdapFixture();
    let gatehouse: GatehouseFixture | undefined;
    let context: BrowserContext | undefined;
    try {
      rdap.set('acme-okta.com', { kind: 'registered', registeredAt: Date.now() - 37 * 60_000 });
      await writeSelfSignedCertificate(join(dir, 'tls'), 'sso.acme.localhost');
      const tlsPort = await freePort();
      gatehouse = await startFixture({
        rdapConnection: rdap.connection,
        https: { port: tlsPort, certFile: join(dir, 'tls', 'cert.pem'), keyFile: join(dir, 'tls', 'key.pem') },
        extraYaml: `dns:
  enabled: true
  listen: { address: 127.0.0.1, port: ${await freePort()} }
  upstreams: ["127.0.0.1:${await freePort()}"]
  block_response: block_page
  block_page: { ipv4: 127.0.0.1 }
  classify_budget_ms: 5000
  protect: { brands: [acme], domains: [acme.com] }
  age:
    rdap_overrides: { com: "${rdap.baseUrl}" }
    young_days: 30
    young_action: block
`,
      });
      const user = await gatehouse.gatehouse.core.identity.users.add({ email: EMAIL });
      const token = await gatehouse.gatehouse.dns.dohTokens.issue(user.id);
      const profile = join(dir, 'profile');
      await mkdir(profile);
      // Local State is where Chromium keeps the secure DNS setting (chrome://settings/security).
      await writeFile(join(profile, 'Local State'), JSON.stringify({ dns_over_https: { mode: 'secure', templates: `https://sso.acme.localhost:${tlsPort}/dns-query/${token}` } }));
      const spki = createHash('sha256')
        .update(new X509Certificate(await readFile(join(dir, 'tls', 'cert.pem'))).publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64');
      const args = CHROMIUM_ARGS.map((arg) => (arg.startsWith('--host-resolver-rules=') ? `${arg}, EXCLUDE acme-okta.com` : arg));
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: [...args, `--ignore-certificate-errors-spki-list=${spki}`], timeout: 60_000 });
      const page = context.pages()[0] ?? (await context.newPage());
      const response = await page.goto(`http://acme-okta.com:${gatehouse.port}/login`);
      expect(response?.status()).toBe(403);
      await audit(page, 'dns-block', { text: /acme-okta\.com was blocked: looks like acme/ });
      // The browser's own lookup, logged with the person the DoH URL belongs to.
      await gatehouse.gatehouse.dns.queryLog.flush();
      const lookups = await gatehouse.gatehouse.core.store.db.selectFrom('dns_queries').select(['name', 'type', 'verdict', 'protocol', 'user_id']).where('name', '=', 'acme-okta.com').execute();
      expect(lookups).toContainEqual({ name: 'acme-okta.com', type: 'A', verdict: 'block', protocol: 'doh', user_id: user.id });
    } finally {
      await context?.close();
      await gatehouse?.close();
      await rdap.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  function hangingConnections(): Promise<number> {
    return new Promise((resolve, reject) => hanging.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  }
});
