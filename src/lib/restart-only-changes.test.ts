import { describe, expect, it } from 'vitest';
import { restartOnlyChanges } from './restart-only-changes.js';

const keys = [
  { path: 'server.http.port', reason: 'listener' },
  { path: 'database', reason: 'pool' },
];

describe('restartOnlyChanges', () => {
  it('names each listed path whose value differs, a section covering its keys', () => {
    const before = { server: { http: { port: 80 } }, database: { url: 'a' }, dns: { enabled: false } };
    expect(restartOnlyChanges(before, before, keys)).toEqual([]);
    expect(restartOnlyChanges(before, { ...before, dns: { enabled: true } }, keys)).toEqual([]);
    expect(restartOnlyChanges(before, { server: { http: { port: 81 } }, database: { url: 'b' } }, keys)).toEqual([
      'server.http.port changed: takes effect after a restart',
      'database changed: takes effect after a restart',
    ]);
  });

  it('a path that appears or disappears counts as a change', () => {
    expect(restartOnlyChanges({ server: {} }, { server: { http: { port: 80 } } }, keys)).toEqual(['server.http.port changed: takes effect after a restart']);
  });
});
