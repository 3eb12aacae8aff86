import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../config/index.js';
import { ACTION_ALLOW, ACTION_BLOCK, ACTION_BYPASS, MAX_SELECTORS_PER_LIST, ProgramTables, nextPolicy } from './policy-program.js';
import { ZonedWeekClocks } from '../../lib/zoned-week-clock.js';
import { compilePolicyEngine } from './compile-policy-engine.js';

const policy = (raw: unknown) => policySchema.parse(raw);
const tablesWith = (...policies: unknown[]) => {
  const tables = new ProgramTables(new ZonedWeekClocks());
  tables.emitApp(policies.map(policy));
  tables.seal();
  return tables;
};

describe('identity interning remembered per distinct string', () => {
  const tables = tablesWith(
    { action: 'allow', include: [{ email: ['alice@acme.test', 'bob@acme.test'] }] },
    { action: 'allow', include: [{ email_domain: ['acme.test', 'corp.test'] }], require: [{ method: ['GET', 'HEAD'] }] },
  );
  const alice = tables.emailIds.get('alice@acme.test')!;
  const acme = tables.domainIds.get('acme.test')!;

  it('case does not matter, asked in any order and again', () => {
    for (let round = 0; round < 2; round++) {
      expect(tables.idsOfEmail('Alice@ACME.test').email).toBe(alice);
      expect(tables.idsOfEmail('alice@acme.test').email).toBe(alice);
      expect(tables.idsOfEmail('Alice@ACME.test').domain).toBe(acme);
      expect(tables.idsOfEmail('carol@Acme.Test').domain).toBe(acme);
      expect(tables.methodIdOf('get')).toBe(tables.methodIds.get('GET'));
      expect(tables.methodIdOf('GET')).toBe(tables.methodIds.get('GET'));
    }
  });

  it('the domain is what follows the last "@"; none, or one nobody lists, is -1', () => {
    expect(tables.idsOfEmail('acme.test@evil.test').domain).toBe(-1);
    expect(tables.idsOfEmail('acme.test').domain).toBe(-1);
    expect(tables.idsOfEmail('a@sub.acme.test').domain).toBe(-1);
    expect(tables.idsOfEmail('carol@acme.test').email).toBe(-1);
    expect(tables.methodIdOf('DELETE')).toBe(-1);
  });

  it('stays right once its memory is full: many users, many client-chosen methods', () => {
    let wrong = 0;
    for (let i = 0; i < 70_000; i++) if (tables.idsOfEmail(`user${i}@Other.test`).email !== -1 || tables.idsOfEmail(`user${i}@Other.test`).domain !== -1) wrong++;
    expect(wrong).toBe(0);
    expect(tables.idsOfEmail('BOB@acme.test').email).toBe(tables.emailIds.get('bob@acme.test'));
    expect(tables.idsOfEmail('x@CORP.test').domain).toBe(tables.domainIds.get('corp.test'));
    for (let i = 0; i < 500; i++) if (tables.methodIdOf(`M${i}`) !== -1) wrong++;
    expect(wrong).toBe(0);
    expect(tables.methodIdOf('head')).toBe(tables.methodIds.get('HEAD'));
  });

  it('an answer given before more apps were emitted is not reused after sealing again', () => {
    const growing = new ProgramTables(new ZonedWeekClocks());
    growing.emitApp([policy({ action: 'allow', include: [{ email: ['alice@acme.test'] }] })]);
    growing.seal();
    expect(growing.idsOfEmail('Dave@acme.test').email).toBe(-1);
    expect(growing.methodIdOf('post')).toBe(-1);
    growing.emitApp([policy({ action: 'allow', include: [{ email: ['dave@acme.test'] }], require: [{ method: ['POST'] }] })]);
    growing.seal();
    expect(growing.idsOfEmail('Dave@acme.test').email).toBe(growing.emailIds.get('dave@acme.test'));
    expect(growing.methodIdOf('post')).toBe(growing.methodIds.get('POST'));
  });
});

describe('id lists', () => {
  it('past 65,536 distinct emails the pool widens and every id is still found', () => {
    const emails = Array.from({ length: 70_000 }, (_, i) => `u${i}@acme.test`);
    const tables = tablesWith({ action: 'allow', include: [{ email: emails }] }, { action: 'allow', include: [{ email: ['u69999@acme.test', 'u3@acme.test'] }] });
    expect(tables.idPool).toBeInstanceOf(Int32Array);
    expect(tables.idPool.length).toBe(70_002);
    expect(tables.idsOfEmail('U69999@acme.test').email).toBe(69_999);
    expect(Array.from(tables.idPool.subarray(70_000))).toEqual([3, 69_999]);
    const engine = compilePolicyEngine({
      apps: [{ name: 'big', host: 'big.acme.test', upstream: 'http://127.0.0.1:9', policies: [policy({ name: 'many', action: 'allow', include: [{ email: emails }] })] }],
      access: { blocked_ips: [] },
    });
    const request = (email: string) => ({ ip: '10.0.0.1', method: 'GET', path: '/', now: 0, identity: { userId: 'u', email, groups: [], amr: ['hwk'] } });
    expect(engine.decide('big', request('u69999@acme.test')).outcome).toBe('allow');
    expect(engine.decide('big', request('u65536@acme.test')).outcome).toBe('allow');
    expect(engine.decide('big', request('u70000@acme.test')).outcome).toBe('deny');
  });

  it('a pool of small ids is 16-bit', () => {
    expect(tablesWith({ action: 'allow', include: [{ email: ['a@acme.test'] }] }).idPool).toBeInstanceOf(Uint16Array);
  });
});

describe('program layout', () => {
  it('each policy of an app can be found from the app offset', () => {
    const schema = z.array(policySchema);
    const tables = new ProgramTables(new ZonedWeekClocks());
    const first = tables.emitApp(schema.parse([{ action: 'allow', include: [{ everyone: true }] }]));
    const second = tables.emitApp(schema.parse([{ action: 'block', include: [{ group: ['x'] }] }, { action: 'bypass', include: [{ path: ['/a'] }], require: [{ method: ['GET'] }] }]));
    tables.seal();
    expect(tables.code[first]).toBe(1);
    expect(tables.code[second]).toBe(2);
    // Header: include | require << 16, exclude | action << 16.
    expect(Array.from(tables.code.subarray(tables.policyStart(first, 0), tables.policyStart(first, 0) + 2))).toEqual([1, ACTION_ALLOW << 16]);
    expect(Array.from(tables.code.subarray(tables.policyStart(second, 0), tables.policyStart(second, 0) + 2))).toEqual([1, ACTION_BLOCK << 16]);
    expect(Array.from(tables.code.subarray(tables.policyStart(second, 1), tables.policyStart(second, 1) + 2))).toEqual([1 | (1 << 16), ACTION_BYPASS << 16]);
    expect(nextPolicy(tables.code, tables.policyStart(second, 0))).toBe(tables.policyStart(second, 1));
  });

  it('refuses a list too long for its header instead of truncating it', () => {
    const tables = new ProgramTables(new ZonedWeekClocks());
    const huge = policy({ action: 'allow', include: Array.from({ length: MAX_SELECTORS_PER_LIST + 1 }, () => ({ everyone: true })) });
    expect(() => tables.emitApp([huge])).toThrow(/longer than 65535/);
  });
});
