import { describe, expect, it } from 'vitest';
import { dnsAgeSchema } from '../../config/index.js';

function firstIssue(input: unknown): { path: string; code: string } | undefined {
  const result = dnsAgeSchema.safeParse(input);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  return issue ? { path: issue.path.join('.'), code: issue.code } : undefined;
}

describe('dns_age config section', () => {
  it('has the documented defaults', () => {
    const config = dnsAgeSchema.parse({});
    expect(config).toMatchObject({
      enabled: true,
      bootstrap_url: 'https://data.iana.org/rdap/dns.json',
      young_days: 30,
      time_budget_ms: 1500,
      on_timeout: 'allow',
      on_unknown: 'allow',
      young_action: 'warn',
      lookalike_action: 'block',
      negative_cache_ttl_minutes: 5,
      young_lookalike_min_score: 0.6,
      rdap_overrides: {},
      nrd_feeds: { sources: [], refresh_hours: 6 },
      first_seen: { use_as_age: true },
      client_lookups_per_window: 30,
      client_lookup_window_s: 60,
      client_max_in_flight: 8,
      rate_limit_backoff_s: 10,
      rate_limit_backoff_max_s: 60,
    });
  });

  it('rejects unknown keys, naming the path', () => {
    expect(firstIssue({ young_dayz: 3 })).toEqual({ path: '', code: 'unrecognized_keys' });
    expect(firstIssue({ nrd_feeds: { source: ['x'] } })).toEqual({ path: 'nrd_feeds', code: 'unrecognized_keys' });
  });

  it('rejects bad values', () => {
    expect(firstIssue({ on_unknown: 'deny' })?.path).toBe('on_unknown');
    expect(firstIssue({ young_days: 0 })?.path).toBe('young_days');
    expect(firstIssue({ time_budget_ms: 1.5 })?.path).toBe('time_budget_ms');
    expect(firstIssue({ rdap_overrides: { com: 'file:///etc/passwd' } })?.path).toBe('rdap_overrides.com');
    expect(firstIssue({ bootstrap_url: 'ftp://data.iana.org/dns.json' })?.path).toBe('bootstrap_url');
    // A per-client budget of 0 or a pause of hours would switch the age check off by configuration.
    expect(firstIssue({ client_lookups_per_window: 0 })?.path).toBe('client_lookups_per_window');
    expect(firstIssue({ client_lookup_window_s: 0 })?.path).toBe('client_lookup_window_s');
    expect(firstIssue({ client_max_in_flight: 0 })?.path).toBe('client_max_in_flight');
    expect(firstIssue({ rate_limit_backoff_max_s: 7200 })?.path).toBe('rate_limit_backoff_max_s');
    expect(firstIssue({ rate_limit_backoff_s: 'soon' })?.path).toBe('rate_limit_backoff_s');
  });

  it('describes every field for the generated docs', () => {
    for (const [key, field] of Object.entries(dnsAgeSchema.shape)) {
      expect(field.description, key).toBeTruthy();
    }
  });
});
