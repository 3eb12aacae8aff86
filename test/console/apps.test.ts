/**
 * The console's apps page: every app (web, ssh, tcp) with its policies in words and its recent denials,
 * escaped; the policy tester answers with the engine `gatehouse policy test` uses (the same reasons),
 * names the policy that decided and why the others did not, and refuses bad input with a clear 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const APPS_YAML = `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: block-contractors, action: block, include: [{ group: [contractors] }] }
      - name: eng-office
        action: allow
        include: [{ group: [engineering] }]
        require:
          - { auth_method: hwk }
          - { auth_age: 720 }
          - { ip: [10.0.0.0/8] }
          - { time: { days: [mon, tue, wed, thu, fri], hours: ["08:00-18:00"], time_zone: Europe/Paris } }
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: health, action: bypass, include: [{ path: [/healthz] }] }
      - { name: staff-keys, action: allow, include: [{ email_domain: [acme.test] }], require: [{ auth_method: phishing_resistant }] }
ssh:
  principals:
    - { group: ops, logins: [ops] }
  apps:
    - name: prod-shell
      policies:
        - { name: ops-office, action: allow, include: [{ group: [ops] }], require: [{ ip: [192.168.0.0/16] }] }
tcp:
  apps:
    - name: billing-db
      upstream: 127.0.0.1:5432
      policies: [{ name: dba, action: allow, include: [{ group: [dba] }] }]
`;

describe('admin console: apps and policies', () => {
  let kit: ConsoleKit;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: APPS_YAML });
    const users = kit.fx.gatehouse.core.identity.users;
    await users.add({ email: 'eng@acme.test', groups: ['engineering'] });
    await users.add({ email: 'ops@acme.test', groups: ['ops'] });
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('lists every app with its policies in words, and recent denials escaped', async () => {
    const eng = await kit.fx.gatehouse.core.identity.users.require('eng@acme.test');
    await kit.fx.gatehouse.core.audit.record({
      type: 'access.denied',
      outcome: 'failure',
      code: 'path_invalid',
      userId: eng.id,
      ip: '10.9.9.9',
      detail: { app: 'payroll', policy: null, reasons: ['path_invalid: "/<script>alert(1)</script>" refused'], method: 'GET', path: '/<script>alert(1)</script>' },
    });
    const reply = await page(kit, kit.admin, '/admin/apps');
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    const text = reply.body.replace(/<[^>]+>/g, '');
    expect(text).toContain('Allow members of engineering, signed in with a hardware security key, with a key proof in the last 12 hours, from 10.0.0.0/8, Mon–Fri 08:00–18:00 Europe/Paris');
    expect(text).toContain('Block members of contractors');
    expect(text).toContain('Open without sign-in (bypass) for requests to /healthz');
    expect(text).toContain('Allow anyone at @acme.test, signed in with a security key or passkey');
    expect(text).toContain('Allow members of ops, from 192.168.0.0/16');
    expect(text).toContain('Allow members of dba');
    expect(reply.body).toContain('prod-shell');
    expect(reply.body).toContain('billing-db');
    // The denial: its user, address and reason, attacker-chosen path escaped.
    expect(reply.body).toContain('eng@acme.test');
    expect(reply.body).toContain('10.9.9.9');
    expect(reply.body).toContain('&lt;script&gt;alert(1)');
    expect(reply.body).not.toContain('<script>alert');
  });

  it('refuses staff and a password+TOTP administrator, without the policies', async () => {
    for (const [browser, code] of [
      [kit.staff, 'admin_forbidden'],
      [kit.passwordAdmin, 'admin_phishing_resistant_required'],
    ] as const) {
      for (const path of ['/admin/apps', '/admin/apps/test?app=payroll']) {
        const reply = await page(kit, browser, path);
        expect(reply.status).toBe(403);
        expect(reply.body).not.toContain('engineering');
      }
      const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 50 });
      expect(denied.map((event) => event.code)).toContain(code);
    }
  });

  it('tests a request at a chosen time: the deciding policy, and why the others did not apply', async () => {
    // Monday 2026-12-07 09:00 UTC is 10:00 in Paris: inside the window.
    const monday = await page(kit, kit.admin, '/admin/apps/test?app=payroll&user=eng%40acme.test&ip=10.1.2.3&method=GET&at=2026-12-07T09:00');
    expect(monday.status).toBe(200);
    expect(monday.body).toContain('Allowed by policy <code>eng-office</code>');
    expect(monday.body).toMatch(/<strong>block-contractors<\/strong> \(block\): does not apply/);
    expect(monday.body).toMatch(/<strong>eng-office<\/strong> \(allow\): decided/);
    // Saturday: the time selector is what misses, and the page says so.
    const saturday = await page(kit, kit.admin, '/admin/apps/test?app=payroll&user=eng%40acme.test&ip=10.1.2.3&method=GET&at=2026-12-05T09:00');
    expect(saturday.status).toBe(200);
    expect(saturday.body).toContain('Denied');
    expect(saturday.body).toContain('This app is not available at this time.');
    expect(saturday.body).toMatch(/not_matched: policies\[1\] &quot;eng-office&quot; require\[3\] time/);
    // A passkey is not a hardware key: the tester says which selector missed.
    const passkey = await page(kit, kit.admin, '/admin/apps/test?app=payroll&user=eng%40acme.test&ip=10.1.2.3&signin=swk&at=2026-12-07T09:00');
    expect(passkey.body).toContain('require[0] auth_method');
    // Stale key proof: step-up, not deny.
    const stale = await page(kit, kit.admin, '/admin/apps/test?app=payroll&user=eng%40acme.test&ip=10.1.2.3&age=800&at=2026-12-07T09:00');
    expect(stale.body).toContain('Step-up needed');
    // Nobody signed in on the bypassed path: open.
    const health = await page(kit, kit.admin, '/admin/apps/test?app=wiki&path=%2Fhealthz');
    expect(health.body).toContain('Open without sign-in by policy <code>health</code>');
    // A disabled user never reaches a policy: the tester says so beside the policies' answer.
    const users = kit.fx.gatehouse.core.identity.users;
    const gone = await users.add({ email: 'gone@acme.test', groups: ['engineering'] });
    await users.setStatus(gone.id, 'disabled');
    const disabled = await page(kit, kit.admin, '/admin/apps/test?app=payroll&user=gone%40acme.test&ip=10.1.2.3&at=2026-12-07T09:00');
    expect(disabled.body).toContain('gone@acme.test is disabled: they cannot sign in');
  });

  it('gives the same reasons as `gatehouse policy test`', async () => {
    const cli = await runGatehouse(['policy', 'test', '--app', 'wiki', '--user', 'eng@acme.test', '--amr', 'pwd', '--amr', 'otp', '--amr', 'mfa', '--ip', '10.1.2.3', '--path', '/docs', '--json'], { config: kit.fx.configPath });
    const expected = JSON.parse(cli.stdout) as { outcome: string; reasons: string[]; explanation: string };
    expect(expected.outcome).toBe('deny');
    const reply = await page(kit, kit.admin, '/admin/apps/test?app=web%3Awiki&user=eng%40acme.test&signin=otp&ip=10.1.2.3&path=%2Fdocs');
    expect(reply.status).toBe(200);
    const shown = [...reply.body.matchAll(/<ul class="reasons">([\s\S]*?)<\/ul>/g)][0]![1]!;
    const lines = [...shown.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    expect(lines).toEqual(expected.reasons);
    expect(reply.body).toContain(expected.explanation);
  });

  it('tests ssh and tcp apps with the same engine (method SSH/TCP)', async () => {
    const outside = await page(kit, kit.admin, '/admin/apps/test?app=ssh%3Aprod-shell&user=ops%40acme.test&ip=10.1.2.3');
    expect(outside.status).toBe(200);
    expect(outside.body).toContain('Denied');
    expect(outside.body).toContain('require[0] ip');
    const office = await page(kit, kit.admin, '/admin/apps/test?app=ssh%3Aprod-shell&user=ops%40acme.test&ip=192.168.1.10');
    expect(office.body).toContain('Allowed by policy <code>ops-office</code>');
    const tunnel = await page(kit, kit.admin, '/admin/apps/test?app=tcp%3Abilling-db&user=ops%40acme.test&ip=192.168.1.10');
    expect(tunnel.body).toContain('Denied');
  });

  it('refuses bad input with a clear message and a 400, hostile text escaped', async () => {
    const cases: [string, string][] = [
      ['app=nope', 'There is no app named &quot;nope&quot;'],
      ['app=payroll&user=ghost%40acme.test', 'There is no user &quot;ghost@acme.test&quot;'],
      ['app=payroll&ip=999.1.1.1', '&quot;999.1.1.1&quot; is not an IPv4 or IPv6 address'],
      ['app=payroll&at=yesterday', '&quot;yesterday&quot; is not a time'],
      ['app=payroll&at=2026-02-31', '&quot;2026-02-31&quot; is not a time'],
      ['app=payroll&method=BREW', '&quot;BREW&quot; is not an HTTP method'],
      ['app=payroll&path=no-slash', '&quot;no-slash&quot; is not a request path'],
      ['app=payroll&signin=sms', '&quot;sms&quot; is not a sign-in method'],
      ['app=payroll&age=-5', '&quot;-5&quot; is not a number of minutes'],
      ['app=payroll&user=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'There is no user &quot;&lt;script&gt;alert(1)'],
      ['app[]=x', 'Choose an app to test'],
    ];
    for (const [query, message] of cases) {
      const reply = await page(kit, kit.admin, `/admin/apps/test?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body, query).toContain(message);
      expect(reply.body).not.toContain('<script>alert');
    }
  });
});
