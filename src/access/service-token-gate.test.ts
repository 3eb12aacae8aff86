import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import { ManualClock } from '../lib/clock.js';
import { createServiceTokenGate } from './service-token-gate.js';

/** The gateway's token step without sockets: header handling, the refusal audit and its flood budget. */
function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 10, 0, 0));
  const written: AuditEvent[] = [];
  const warnings: Record<string, unknown>[] = [];
  const audit = { record: async (event: AuditEvent) => void written.push(event) } as unknown as AuditLog;
  const logger = { warn: (fields: Record<string, unknown>) => void warnings.push(fields) } as unknown as Logger;
  const gate = createServiceTokenGate({ tokens: () => ({ verify: () => ({ ok: false, code: 'service_token_bad_secret' }), recordUse: () => {} }), audit, logger, clock });
  return { clock, gate, written, warnings };
}

describe('service token gate', () => {
  it('takes both headers off the request, and leaves a request without them alone', () => {
    const { gate } = setup();
    const headers: Record<string, string> = { 'gatehouse-client-id': 'gh-svc-x', 'gatehouse-client-secret': 'gh-secret-y', accept: '*/*' };
    expect(gate.take(headers)).toEqual({ clientId: 'gh-svc-x', secret: 'gh-secret-y' });
    expect(headers).toEqual({ accept: '*/*' });
    expect(gate.take({ accept: '*/*' })).toBeUndefined();
    // One header alone is a presentation (refused as malformed), not a browser request.
    expect(gate.take({ 'gatehouse-client-secret': 'x' })).toEqual({ clientId: undefined, secret: 'x' });
  });

  it('refuses every presentation when no service-token capability is wired', () => {
    const { clock } = setup();
    const written: AuditEvent[] = [];
    const gate = createServiceTokenGate({ tokens: () => undefined, audit: { record: async (e: AuditEvent) => void written.push(e) } as unknown as AuditLog, logger: { warn: () => {} } as unknown as Logger, clock });
    expect(gate.verify({ clientId: 'a', secret: 'b' }, 'deploy', '192.0.2.1', 'r1', clock.now())).toBeUndefined();
    expect(written[0]).toMatchObject({ type: 'service_token.refused', code: 'service_token_unknown' });
  });

  it('writes at most 30 refusal events per client network and minute, counts the rest, and says so in the next one', () => {
    const { clock, gate, written, warnings } = setup();
    for (let i = 0; i < 100; i++) expect(gate.verify({ clientId: 'a', secret: 'b' }, 'deploy', `198.51.100.${i}`, `r${i}`, clock.now())).toBeUndefined();
    expect(written).toHaveLength(30);
    expect(written.every((e) => e.code === 'service_token_bad_secret')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ network: '198.51.100.0/24', suppressed: 1 });
    // Another network has its own budget.
    gate.verify({ clientId: 'a', secret: 'b' }, 'deploy', '203.0.113.5', 'other', clock.now());
    expect(written).toHaveLength(31);
    clock.advance(60_000);
    gate.verify({ clientId: 'a', secret: 'b' }, 'deploy', '198.51.100.7', 'later', clock.now());
    expect(written.at(-1)!.detail).toMatchObject({ requestId: 'later', suppressedBefore: 70 });
  });
});
