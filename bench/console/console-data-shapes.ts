/**
 * What the console bench's data looks like, apart from how it is written: a seeded PRNG (the same data
 * on every run and engine, so SQLite and PostgreSQL figures compare like for like), a working-hours
 * clock over 30 days, the DNS name vocabulary with a Zipf-like popularity, and the audit events the
 * identity and access capabilities really write (types, codes and detail keys copied from
 * src/identity/sign-in.ts, src/identity/enrollment.ts, src/access/access-gateway.ts and
 * src/access/service-token-gate.ts), so the overview's charts have something to draw.
 */

import { seededPrng } from '../../test/support/seeded-prng.js';

export const DAY_MS = 86_400_000;
/** The window every row falls in: the last 30 days, minus a margin so a 30-day retention keeps them. */
export const SPAN_MS = 30 * DAY_MS - 3_600_000;

/** The shared mulberry32 of test/support: the same data on every run and engine. */
export const seededRandom = seededPrng;

export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
export const hex = (rng: Rng, chars: number): string => {
  let out = '';
  while (out.length < chars) out += Math.floor(rng() * 0x100000000).toString(16).padStart(8, '0');
  return out.slice(0, chars);
};
export const uuidOf = (rng: Rng): string => {
  const h = hex(rng, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
};
export const base64urlOf = (rng: Rng, bytes: number): string => Buffer.from(hex(rng, bytes * 2), 'hex').toString('base64url');

/** Picks from `items` with the given weights (cumulative table, binary search). */
export function weighted<T>(items: readonly T[], weights: readonly number[]): (rng: Rng) => T {
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w));
  return (rng) => {
    const x = rng() * sum;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return items[lo]!;
  };
}

/**
 * `count` times in [now - SPAN_MS, now), ascending, busier in working hours on weekdays (UTC): the
 * shape the per-hour charts of a real organisation have. Rejection sampling on an hour weight.
 */
export function workingHoursTimes(rng: Rng, count: number, now: number): Float64Array {
  const times = new Float64Array(count);
  const start = now - SPAN_MS;
  for (let i = 0; i < count; ) {
    const at = start + rng() * SPAN_MS;
    const date = new Date(at);
    const hour = date.getUTCHours();
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const weight = (hour >= 8 && hour < 19 ? 1 : 0.25) * (weekend ? 0.35 : 1);
    if (rng() < weight) times[i++] = Math.floor(at);
  }
  return times.sort();
}

const POPULAR = [
  'google.com', 'microsoft.com', 'office.com', 'slack.com', 'github.com', 'zoom.us', 'apple.com', 'amazonaws.com', 'cloudflare.com',
  'googleapis.com', 'gstatic.com', 'atlassian.net', 'salesforce.com', 'okta.com', 'youtube.com', 'linkedin.com', 'windows.net',
  'office365.com', 'live.com', 'icloud.com', 'dropbox.com', 'notion.so', 'figma.com', 'stripe.com', 'sentry.io', 'datadoghq.com',
  'npmjs.org', 'docker.io', 'pypi.org', 'akamaiedge.net', 'fastly.net', 'doubleclick.net', 'facebook.com', 'twitter.com', 'wikipedia.org',
  'bing.com', 'adobe.com', 'hubspot.com', 'zendesk.com', 'intercom.io', 'gitlab.com', 'digicert.com', 'letsencrypt.org', 'mozilla.org',
];
const SUBDOMAINS = ['www', 'api', 'cdn', 'login', 'static', 'edge', 'mail', 'app', 'assets', 'auth'];
const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'zu', 'pre', 'nex', 'sol', 'tri', 'qua', 'den', 'fi', 'gor', 'hub', 'lin', 'mar', 'net', 'pix'];
const TLDS = ['com', 'net', 'org', 'io', 'co', 'de', 'fr', 'app', 'dev', 'info'];
/** Lookalikes of the organisation's own domain (acme.com): what the lookalike check exists for. */
export const LOOKALIKES = ['acme-corp-login.com', 'acrne.com', 'acme-sso.net', 'acmee.com', 'acme-helpdesk.info', 'acme-payroll.co', 'login-acme.com', 'acme.com-verify.io'];
const BLOCKLISTS = ['malware', 'phishing', 'ads'];

export interface DnsName {
  name: string;
  verdict: 'allow' | 'warn' | 'block' | 'refused' | 'error';
  reason: string;
}

/**
 * The vocabulary of names and how often each is asked: popular SaaS first (Zipf, s ≈ 1), the
 * organisation's own names, a long tail of random names, a few blocklisted and lookalike names.
 */
export function dnsNameSampler(rng: Rng): { sample: (rng: Rng) => DnsName; busiest: string } {
  const names: DnsName[] = [];
  const weights: number[] = [];
  let rank = 1;
  const add = (name: string, weight: number, verdict: DnsName['verdict'] = 'allow', reason = '') => {
    names.push({ name, verdict, reason });
    weights.push(weight);
  };
  for (const base of POPULAR) {
    add(base, 1 / rank++);
    for (const sub of SUBDOMAINS.slice(0, 1 + Math.floor(rng() * SUBDOMAINS.length))) add(`${sub}.${base}`, 1 / rank++);
  }
  for (const sub of ['sso', 'mail', 'wiki', 'git', 'grafana', 'vpn', 'intranet', 'jira']) add(`${sub}.acme.com`, 0.02, 'allow', 'allowlist');
  // The long tail: together about a third of all queries, each name rarely seen.
  for (let i = 0; i < 20_000; i++) {
    const word = Array.from({ length: 2 + Math.floor(rng() * 3) }, () => pick(rng, SYLLABLES)).join('');
    add(`${rng() < 0.3 ? `${pick(rng, SUBDOMAINS)}.` : ''}${word}.${pick(rng, TLDS)}`, 0.00012);
  }
  for (let i = 0; i < 300; i++) add(`${hex(rng, 10)}.${pick(rng, TLDS)}`, 0.0004, 'block', `blocklist:${pick(rng, BLOCKLISTS)}`);
  for (const name of LOOKALIKES) add(name, 0.002, rng() < 0.7 ? 'block' : 'warn', rng() < 0.5 ? 'classify:lookalike' : 'classify:young_lookalike');
  add('unreachable.example', 0.002, 'error', 'servfail');
  add('version.bind', 0.0005, 'refused', 'policy:refuse');
  return { sample: weighted(names, weights), busiest: names[0]!.name };
}

export const DNS_TYPES = weighted(['A', 'AAAA', 'HTTPS', 'CNAME', 'TXT', 'MX', 'SRV'], [55, 28, 10, 3, 2, 1, 1]);
export const DNS_PROTOCOLS = weighted(['udp', 'doh', 'tcp'] as const, [60, 32, 8]);

export const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
];
export const GROUPS = ['engineering', 'sales', 'finance', 'support', 'marketing', 'contractors', 'ops'];
export const APPS = ['wiki', 'grafana', 'jira', 'payroll', 'git', 'crm'];
export const FIRST = ['alex', 'sam', 'maria', 'li', 'noah', 'emma', 'omar', 'yuki', 'ana', 'lukas', 'priya', 'jonas', 'chloe', 'ivan', 'sofia', 'kwame'];
export const LAST = ['smith', 'garcia', 'chen', 'muller', 'rossi', 'kowalski', 'okafor', 'tanaka', 'silva', 'novak', 'dubois', 'jensen', 'haddad', 'kim'];
