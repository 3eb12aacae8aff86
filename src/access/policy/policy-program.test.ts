import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../config/sections/apps.js';
import { ProgramTables } from './policy-program.js';
import { ZonedWeekClocks } from './zoned-week-clock.js';

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
      expect(tables.emailIdOf('Alice@ACME.test')).toBe(alice);
      expect(tables.emailIdOf('alice@acme.test')).toBe(alice);
      expect(tables.domainIdOf('Alice@ACME.test')).toBe(acme);
      expect(tables.domainIdOf('carol@Acme.Test')).toBe(acme);
      expect(tables.methodIdOf('get')).toBe(tables.methodIds.get('GET'));
      expect(tables.methodIdOf('GET')).toBe(tables.methodIds.get('GET'));
    }
  });

  it('the domain is what follows the last "@"; none, or one nobody lists, is -1', () => {
    expect(tables.domainIdOf('acme.test@evil.test')).toBe(-1);
    expect(tables.domainIdOf('acme.test')).toBe(-1);
    expect(tables.domainIdOf('a@sub.acme.test')).toBe(-1);
    expect(tables.emailIdOf('carol@acme.test')).toBe(-1);
    expect(tables.methodIdOf('DELETE')).toBe(-1);
  });

  it('stays right once its memory is full: many users, many client-chosen methods', () => {
    let wrong = 0;
    for (let i = 0; i < 70_000; i++) if (tables.emailIdOf(`user${i}@Other.test`) !== -1 || tables.domainIdOf(`user${i}@Other.test`) !== -1) wrong++;
    expect(wrong).toBe(0);
    expect(tables.emailIdOf('BOB@acme.test')).toBe(tables.emailIds.get('bob@acme.test'));
    expect(tables.domainIdOf('x@CORP.test')).toBe(tables.domainIds.get('corp.test'));
    for (let i = 0; i < 500; i++) if (tables.methodIdOf(`M${i}`) !== -1) wrong++;
    expect(wrong).toBe(0);
    expect(tables.methodIdOf('head')).toBe(tables.methodIds.get('HEAD'));
  });

  it('an answer given before more apps were emitted is not reused after sealing again', () => {
    const growing = new ProgramTables(new ZonedWeekClocks());
    growing.emitApp([policy({ action: 'allow', include: [{ email: ['alice@acme.test'] }] })]);
    growing.seal();
    expect(growing.emailIdOf('Dave@acme.test')).toBe(-1);
    expect(growing.methodIdOf('post')).toBe(-1);
    growing.emitApp([policy({ action: 'allow', include: [{ email: ['dave@acme.test'] }], require: [{ method: ['POST'] }] })]);
    growing.seal();
    expect(growing.emailIdOf('Dave@acme.test')).toBe(growing.emailIds.get('dave@acme.test'));
    expect(growing.methodIdOf('post')).toBe(growing.methodIds.get('POST'));
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
    // Header: include, require and exclude counts, then "needs identity" (allow).
    expect(Array.from(tables.code.subarray(tables.policyStart(first, 0), tables.policyStart(first, 0) + 4))).toEqual([1, 0, 0, 1]);
    expect(Array.from(tables.code.subarray(tables.policyStart(second, 1), tables.policyStart(second, 1) + 4))).toEqual([1, 1, 0, 0]);
  });
});
