import { describe, expect, it } from 'vitest';
import { startBannerLines } from './start-banner.js';

const base = {
  portalUrl: 'http://sso.gatehouse.localhost:8080',
  database: 'sqlite ./data/gatehouse.db',
  configPath: '/srv/gatehouse.yaml',
  appDomain: 'gatehouse.localhost',
  portSuffix: ':8080',
  dnsEnabled: false,
  dohPath: '/dns-query',
};

describe('start banner', () => {
  it('names the first admin, their link and the next steps with pasteable lines', () => {
    const text = startBannerLines({ ...base, adminEmail: 'admin@gatehouse.localhost', firstAdminLink: 'http://sso.gatehouse.localhost:8080/enroll/abc' }).join('\n');
    expect(text).toContain('First administrator: admin@gatehouse.localhost');
    expect(text).toContain('  http://sso.gatehouse.localhost:8080/enroll/abc');
    expect(text).toContain('npx gatehouse user invite alice@example.com --group staff');
    expect(text).toContain('host: whoami.gatehouse.localhost');
    expect(text).toContain('http://whoami.gatehouse.localhost:8080/');
    expect(text).toContain('dig @127.0.0.1 -p 5353 example.com');
    expect(text).toContain('docs/app-developers.md');
    expect(text).toContain('Run the day from the admin console: http://sso.gatehouse.localhost:8080/admin');
  });

  it('without a pending link names the admin, and with DNS on gives the personal DoH command', () => {
    const text = startBannerLines({ ...base, adminEmail: 'root@acme.com', firstAdminLink: undefined, dnsEnabled: true }).join('\n');
    expect(text).toContain('Administrator: root@acme.com');
    expect(text).not.toContain('one-time link');
    expect(text).toContain('npx gatehouse dns token');
  });
});
