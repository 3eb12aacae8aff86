import { describe, expect, it } from 'vitest';
import { tcpSchema, tcpUpstreamOf } from './tcp.js';

describe('tcp.apps', () => {
  const allow = { action: 'allow', include: [{ group: ['ops'] }] };

  it('takes an upstream host:port and the policy grammar of apps[].policies, with bounded defaults', () => {
    const parsed = tcpSchema.parse({ apps: [{ name: 'db', upstream: '127.0.0.1:5432', policies: [allow] }] });
    expect(parsed.apps[0]).toMatchObject({ idle_timeout_seconds: 3600, max_tunnels_per_user: 32, connect_timeout_ms: 5000 });
    expect(tcpUpstreamOf('[::1]:22')).toEqual({ host: '::1', port: 22 });
    expect(tcpUpstreamOf('db.internal:5432')).toEqual({ host: 'db.internal', port: 5432 });
  });

  it('refuses a bypass policy, a duplicate app, an upstream that is not host:port, and a client-facing target key', () => {
    const problems = (apps: unknown) => tcpSchema.safeParse({ apps }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(problems([{ name: 'db', upstream: 'h:1', policies: [{ action: 'bypass', include: [{ everyone: true }] }] }])).toEqual([expect.stringContaining('apps.0.policies.0.action: a tcp app tunnels for people')]);
    expect(problems([{ name: 'db', upstream: 'h:1', policies: [allow] }, { name: 'db', upstream: 'h:2', policies: [allow] }])).toEqual(['apps.1.name: tcp app "db" is defined twice']);
    for (const upstream of ['h', 'h:0', 'h:70000', 'tcp://h:1', '::1:22', 'h:1/x']) expect(problems([{ name: 'db', upstream, policies: [allow] }]).length).toBeGreaterThan(0);
    expect(problems([{ name: 'db', upstream: 'h:1', policies: [allow], allow_client_target: true }])).toEqual([expect.stringContaining('apps.0')]);
  });
});
