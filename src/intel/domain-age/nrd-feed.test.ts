import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { createMemoryFirstSeenStore } from './first-seen.js';
import { loadDomainFeed, parseDomainFeed } from './nrd-feed.js';
import { createNrdFeedRefresher } from './nrd-feed-refresher.js';
import { createNrdIndex } from './nrd-index.js';
import { startRdapFixture, type RdapFixture } from './test-support/rdap-fixture-server.js';

const FEED = `# newly registered domains, 2026-08-20
acme-okta.com
ACME-SSO.NET.   # trailing comment
0.0.0.0 acme-hr.co.uk

www.google.com
not a domain
xn--acm-mna.com
acme-okta.com
`;

let fixture: RdapFixture;
let dir: string;
beforeAll(async () => {
  fixture = await startRdapFixture();
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-nrd-'));
});
afterAll(async () => {
  await fixture.close();
  await rm(dir, { recursive: true, force: true });
});

describe('newly-registered-domain feeds', () => {
  it('parses one registrable domain per line with comments and hosts-file lines', () => {
    const parsed = parseDomainFeed(FEED);
    expect(parsed.domains).toEqual(['acme-okta.com', 'acme-sso.net', 'acme-hr.co.uk', 'xn--acm-mna.com']);
    // A subdomain line must not mark its parent (google.com) as new.
    expect(parsed.rejectedCount).toBe(2);
    expect(parsed.rejectedSamples.map((sample) => sample.line)).toEqual([6, 7]);
  });

  it('loads a feed from a file and from a URL', async () => {
    const path = join(dir, 'feed.txt');
    await writeFile(path, FEED);
    fixture.setFile('/nrd.txt', 200, FEED);
    const fromFile = await loadDomainFeed(path, { maxBytes: 1 << 20, timeoutMs: 5000 });
    const fromUrl = await loadDomainFeed(`${fixture.origin}/nrd.txt`, { maxBytes: 1 << 20, timeoutMs: 5000 });
    expect(fromFile).toMatchObject({ ok: true, domains: expect.arrayContaining(['acme-okta.com']) });
    expect(fromUrl).toMatchObject({ ok: true, domains: expect.arrayContaining(['acme-hr.co.uk']) });
  });

  it('refuses missing, oversize and failing feeds with a code', async () => {
    const path = join(dir, 'big.txt');
    await writeFile(path, 'a.com\n'.repeat(1000));
    fixture.setFile('/big.txt', 200, 'a.com\n'.repeat(1000));
    fixture.setFile('/down.txt', 503, 'later');
    const options = { maxBytes: 100, timeoutMs: 5000 };
    expect(await loadDomainFeed(join(dir, 'missing.txt'), options)).toMatchObject({ ok: false, code: 'nrd_feed_unreadable' });
    expect(await loadDomainFeed(path, options)).toMatchObject({ ok: false, code: 'nrd_feed_too_large' });
    expect(await loadDomainFeed(`${fixture.origin}/big.txt`, options)).toMatchObject({ ok: false, code: 'nrd_feed_too_large' });
    expect(await loadDomainFeed(`${fixture.origin}/down.txt`, options)).toMatchObject({ ok: false, code: 'nrd_feed_http_status' });
  });

  it('refreshes feeds into the index and keeps the last good copy of a feed that fails', async () => {
    const clock = new ManualClock();
    const index = createNrdIndex();
    const url = `${fixture.origin}/rotating.txt`;
    fixture.setFile('/rotating.txt', 200, 'first-wave.com\n');
    const refresher = createNrdFeedRefresher({ sources: [url], index, clock, refreshHours: 1, maxBytes: 1 << 20, timeoutMs: 5000 });
    await refresher.refreshAll();
    expect(index.lookup('first-wave.com')).toEqual({ source: url, importedAt: clock.now() });

    clock.advance(3_600_000);
    fixture.setFile('/rotating.txt', 200, 'second-wave.com\n');
    await refresher.refreshAll();
    expect(index.lookup('first-wave.com')).toBeUndefined();
    expect(index.lookup('second-wave.com')).toEqual({ source: url, importedAt: clock.now() });

    fixture.setFile('/rotating.txt', 500, '');
    const [result] = await refresher.refreshAll();
    expect(result).toMatchObject({ ok: false, code: 'nrd_feed_http_status' });
    expect(index.lookup('second-wave.com')).toBeDefined();
  });
});

describe('first-seen table', () => {
  it('keeps the first time only, and is bounded', () => {
    const clock = new ManualClock();
    const store = createMemoryFirstSeenStore({ clock, maxEntries: 2 });
    expect(store.recordSeen('a.com', 100)).toBe(100);
    expect(store.recordSeen('a.com', 200)).toBe(100);
    store.recordSeen('b.com', 300);
    store.recordSeen('c.com', 400);
    expect(store.size).toBe(2);
    expect(store.recordSeen('a.com', 500)).toBe(500);
    expect(store.trackingSince()).toBe(clock.now());
  });
});
