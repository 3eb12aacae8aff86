import { describe, expect, it } from 'vitest';
import { sshSchema } from './ssh.js';

describe('ssh.apps', () => {
  const allow = { action: 'allow', include: [{ group: ['ops'] }], require: [{ auth_method: 'hwk' }] };

  it('takes the policy grammar of apps[].policies', () => {
    const parsed = sshSchema.parse({ apps: [{ name: 'servers', policies: [allow] }] });
    expect(parsed.apps[0]!.policies[0]!.require[0]!.auth_method).toEqual(['hwk']);
  });

  it('refuses a bypass policy, a duplicate app, an unknown selector and an app without policies', () => {
    const problems = (apps: unknown) => sshSchema.safeParse({ apps }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(problems([{ name: 'servers', policies: [{ action: 'bypass', include: [{ everyone: true }] }] }])).toEqual([expect.stringContaining('apps.0.policies.0.action: an ssh app issues certificates to people')]);
    expect(problems([{ name: 'servers', policies: [allow] }, { name: 'servers', policies: [allow] }])).toEqual(['apps.1.name: ssh app "servers" is defined twice']);
    expect(problems([{ name: 'servers', policies: [{ action: 'allow', include: [{ grop: ['ops'] }] }] }])).toEqual([expect.stringContaining('unknown selector "grop"')]);
    expect(problems([{ name: 'servers', policies: [] }])).toEqual(['apps.0.policies: policies needs at least one entry']);
    expect(problems([{ name: 'servers', host: 'x.example', policies: [allow] }])).toEqual([expect.stringContaining('apps.0')]);
  });
});
