import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from './apps.js';
import { formatConfigIssues } from './format-issues.js';

const schema = z.strictObject({ apps: appsSchema, access: accessSchema });
const policy = { action: 'allow', include: [{ everyone: true }] };
const app = (over: Record<string, unknown> = {}) => ({ name: 'wiki', host: 'wiki.acme.test', upstream: 'http://127.0.0.1:8080', policies: [policy], ...over });

function errorsOf(input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return formatConfigIssues(result.error!).split('\n');
}

describe('apps section: errors name the path', () => {
  it.each([
    [
      'unknown selector',
      { apps: [app(), app({ name: 'a', host: 'a.test' }), app({ name: 'b', host: 'b.test', policies: [{ ...policy, require: [{ group: ['x'] }, { grop: ['x'] }] }] })] },
      'apps[2].policies[0].require[1]: unknown selector "grop"',
    ],
    ['two keys in one selector', { apps: [app({ policies: [{ ...policy, include: [{ email: ['a@b.test'], group: ['g'] }] }] })] }, 'apps[0].policies[0].include[0]: one selector per entry, found email, group: split them into separate entries'],
    ['empty selector', { apps: [app({ policies: [{ ...policy, include: [{}] }] })] }, 'apps[0].policies[0].include[0]: empty selector: write one key such as `group: [eng]`'],
    ['duplicate app name', { apps: [app(), app({ host: 'other.test' })] }, 'apps[1].name: duplicate app name "wiki" (also apps[0])'],
    ['duplicate host (case-insensitive)', { apps: [app(), app({ name: 'two', host: 'WIKI.acme.test' })] }, 'apps[1].host: duplicate app host "wiki.acme.test" (also apps[0])'],
    ['duplicate policy name', { apps: [app({ policies: [{ ...policy, name: 'p' }, { ...policy, name: 'p' }] })] }, 'apps[0].policies[1].name: duplicate policy name "p" (also policies[0])'],
    ['bad slug', { apps: [app({ name: 'Wiki App' })] }, 'apps[0].name: app name must be a slug: lower-case letters, digits and "-", at most 63 characters'],
    ['host with port', { apps: [app({ host: 'wiki.acme.test:443' })] }, 'apps[0].host: host must be a DNS name such as wiki.acme.test, without port or scheme'],
    ['upstream scheme', { apps: [app({ upstream: 'file:///etc/passwd' })] }, 'apps[0].upstream: upstream "file:///etc/passwd" must be http or https'],
    ['upstream not a URL', { apps: [app({ upstream: 'localhost:80' })] }, 'apps[0].upstream: upstream "localhost:80" must be http or https'],
    ['upstream credentials', { apps: [app({ upstream: 'http://u:p@127.0.0.1' })] }, 'apps[0].upstream: upstream must not carry credentials in the URL'],
    ['no policies', { apps: [app({ policies: [] })] }, 'apps[0].policies: policies needs at least one entry'],
    ['unknown action', { apps: [app({ policies: [{ ...policy, action: 'permit' }] })] }, 'apps[0].policies[0].action: Invalid option: expected one of "allow"|"block"|"bypass"'],
    ['empty include', { apps: [app({ policies: [{ ...policy, include: [] }] })] }, 'apps[0].policies[0].include: include needs at least one entry'],
    ['bad CIDR', { apps: [app({ policies: [{ ...policy, require: [{ ip: ['10.0.0.0/8', '10.0.0.1/8'] }] }] })] }, 'apps[0].policies[0].require[0].ip[1]: "10.0.0.1/8": host bits are set (the network is 10.0.0.0/8)'],
    ['time zone', { apps: [app({ policies: [{ ...policy, require: [{ time: { time_zone: 'Mars/Olympus' } }] }] })] }, 'apps[0].policies[0].require[0].time.time_zone: unknown IANA time zone "Mars/Olympus"'],
    ['day name', { apps: [app({ policies: [{ ...policy, require: [{ time: { days: ['mon', 'funday'] } }] }] })] }, 'apps[0].policies[0].require[0].time.days[1]: unknown day "funday"; use mon, tue, wed, thu, fri, sat, sun'],
    ['hours format', { apps: [app({ policies: [{ ...policy, require: [{ time: { hours: ['9-17'] } }] }] })] }, 'apps[0].policies[0].require[0].time.hours[0]: hours "9-17" must look like "09:00-17:30" (24-hour, end may be 24:00)'],
    ['hours over midnight', { apps: [app({ policies: [{ ...policy, require: [{ time: { hours: ['22:00-06:00'] } }] }] })] }, 'apps[0].policies[0].require[0].time.hours[0]: hours "22:00-06:00" must end after it starts; split a range over midnight in two'],
    ['auth_method', { apps: [app({ policies: [{ ...policy, require: [{ auth_method: 'sms' }] }] })] }, 'apps[0].policies[0].require[0].auth_method[0]: unknown auth_method "sms"; use phishing_resistant, hwk, swk, otp, pwd'],
    ['auth_age not whole', { apps: [app({ policies: [{ ...policy, require: [{ auth_age: 0.5 }] }] })] }, 'apps[0].policies[0].require[0].auth_age: auth_age is whole minutes'],
    ['auth_age under exclude', { apps: [app({ policies: [{ ...policy, exclude: [{ auth_age: 5 }] }] })] }, 'apps[0].policies[0].exclude[0]: auth_age belongs in require (or include): it asks for a fresh key touch'],
    ['bypass with identity', { apps: [app({ policies: [{ action: 'bypass', include: [{ everyone: true }], require: [{ group: ['eng'] }] }] })] }, 'apps[0].policies[0].require[0]: bypass policies serve requests without identity; selector "group" needs one'],
    ['path pattern', { apps: [app({ policies: [{ ...policy, require: [{ path: ['/ok', '/a/../admin'] }] }] })] }, 'apps[0].policies[0].require[0].path[1]: path "/a/../admin" has "." or ".." or empty segments; write the canonical path'],
    ['everyone must be true', { apps: [app({ policies: [{ ...policy, include: [{ everyone: false }] }] })] }, 'apps[0].policies[0].include[0].everyone: Invalid input: expected true'],
    ['unknown app key', { apps: [app({ upstreams: 'x' })] }, 'apps[0].upstreams: unknown key'],
    ['case_sensitive_paths not a boolean', { apps: [app({ case_sensitive_paths: 'yes' })] }, 'apps[0].case_sensitive_paths: Invalid input: expected boolean, received string'],
    ['per-client cap of zero', { apps: [app({ max_requests_per_client: 0 })] }, 'apps[0].max_requests_per_client: Too small: expected number to be >=1'],
    ['negative queue bound', { apps: [app({ max_queued_requests: -1 })] }, 'apps[0].max_queued_requests: Too small: expected number to be >=0'],
    ['fractional queue bound', { apps: [app({ max_queued_requests: 1.5 })] }, 'apps[0].max_queued_requests: Invalid input: expected int, received number'],
    ['blocked_ips', { access: { blocked_ips: ['203.0.113.0/24', 'evil'] } }, 'access.blocked_ips[1]: "evil" is not an IPv4 or IPv6 CIDR'],
    ['trusted_proxies', { access: { trusted_proxies: ['::1/129'] } }, 'access.trusted_proxies[0]: "::1/129": prefix length exceeds 128'],
    ['jwt ttl', { access: { jwt_ttl_seconds: 86400 } }, 'access.jwt_ttl_seconds: jwt_ttl_seconds must be at most 3600'],
    ['cookie name', { access: { session_cookie_name: 'a b' } }, 'access.session_cookie_name: session_cookie_name must be an RFC 6265 token'],
    ['unknown access key', { access: { blocked_ip: [] } }, 'access.blocked_ip: unknown key'],
  ])('%s', (_label, input, line) => {
    expect(errorsOf(input)).toContain(line);
  });

  it('reports every problem at once, one line each', () => {
    const lines = errorsOf({ apps: [app({ upstream: 'ftp://x', policies: [{ ...policy, include: [{ grop: [] }] }] })], access: { blocked_ips: ['x'] } });
    expect(lines).toHaveLength(3);
  });
});

describe('apps section: accepted config and defaults', () => {
  it('fills defaults and normalises case', () => {
    const parsed = schema.parse({
      apps: [
        app({
          host: 'Wiki.Acme.Test',
          policies: [{ action: 'allow', include: [{ email: ['Alice@Acme.Test'] }, { email_domain: ['@Acme.Test'] }], require: [{ method: ['get'] }, { auth_method: 'phishing_resistant' }, { time: {} }] }],
        }),
      ],
    });
    const p = parsed.apps[0]!.policies[0]!;
    expect(parsed.apps[0]!.host).toBe('wiki.acme.test');
    // Express, ASP.NET and IIS route /ADMIN as /admin: matching ignores case unless the app says otherwise.
    expect(parsed.apps[0]!.case_sensitive_paths).toBe(false);
    expect(p.include).toEqual([{ email: ['alice@acme.test'] }, { email_domain: ['acme.test'] }]);
    expect(p.require).toEqual([{ method: ['GET'] }, { auth_method: ['phishing_resistant'] }, { time: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], hours: ['00:00-24:00'], time_zone: 'UTC' } }]);
    expect(p.exclude).toEqual([]);
    expect(parsed.access).toEqual({ blocked_ips: [], trusted_proxies: [], session_cookie_name: 'gatehouse_app_session', jwt_ttl_seconds: 60 });
  });

  it('bounds every app against overload by default: queue 256, 64 requests in flight per client', () => {
    const parsed = schema.parse({ apps: [app(), app({ name: 'b', host: 'b.test', max_queued_requests: 0, max_requests_per_client: 6 })] });
    expect(parsed.apps[0]).toMatchObject({ max_connections: 256, max_queued_requests: 256, max_requests_per_client: 64 });
    expect(parsed.apps[1]).toMatchObject({ max_queued_requests: 0, max_requests_per_client: 6 });
  });

  it('accepts IPv6 and IPv4-mapped CIDRs', () => {
    expect(schema.safeParse({ access: { blocked_ips: ['2001:db8::/32', '::ffff:203.0.113.0/120', '198.51.100.7'] } }).success).toBe(true);
  });

  it('every field carries a description (docs are generated from them)', () => {
    const undocumented: string[] = [];
    const seen = new Set<string>();
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      const properties = record.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, child] of Object.entries(properties ?? {})) {
        seen.add(key);
        if (typeof child.description !== 'string') undocumented.push(`${path}.${key}`);
      }
      for (const [key, child] of Object.entries(record)) walk(child, `${path}/${key}`);
    };
    walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), '');
    expect(undocumented).toEqual([]);
    for (const key of ['apps', 'access', 'upstream', 'auth_age', 'time_zone', 'jwt_ttl_seconds', 'trusted_proxies']) expect(seen).toContain(key);
  });
});
