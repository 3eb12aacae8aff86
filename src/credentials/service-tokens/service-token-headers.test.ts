import { expect, it } from 'vitest';
import { cryptoRandom } from '../../lib/random.js';
import { serviceTokenRefusalEvent } from './service-token-audit-event.js';
import { serviceTokenHeadersOf, stripServiceTokenHeaders } from './service-token-headers.js';
import { createServiceTokenVerifier } from './service-token-verifier.js';

const clientId = `gh-svc-${'k'.repeat(22)}`;
const secret = `gh-secret-${'s'.repeat(43)}`;

it('reads the two dashed headers; neither present is not a token request; one alone is malformed', () => {
  expect(serviceTokenHeadersOf({ host: 'x' })).toBeUndefined();
  expect(serviceTokenHeadersOf({ 'gatehouse-client-id': clientId, 'gatehouse-client-secret': secret })).toEqual({ clientId, secret });
  const verifier = createServiceTokenVerifier(cryptoRandom);
  const idOnly = serviceTokenHeadersOf({ 'gatehouse-client-id': clientId })!;
  expect(verifier.verify({ ...idOnly, app: 'payroll', now: 0 })).toEqual({ ok: false, code: 'service_token_malformed' });
  // Underscore spellings are not read (the proxy drops them before this point anyway).
  expect(serviceTokenHeadersOf({ gatehouse_client_id: clientId, gatehouse_client_secret: secret } as never)).toBeUndefined();
});

it('strips both headers before the request goes upstream', () => {
  const headers: Record<string, string> = { 'gatehouse-client-id': clientId, 'gatehouse-client-secret': secret, accept: '*/*' };
  stripServiceTokenHeaders(headers);
  expect(headers).toEqual({ accept: '*/*' });
});

it('audits a refusal with its code and never the secret nor a hostile header value', () => {
  const hostile = `${'<script>'.repeat(100)}`;
  const event = serviceTokenRefusalEvent({ ok: false, code: 'service_token_malformed' }, { clientId: hostile, app: 'payroll', clientAddress: '192.0.2.1' });
  expect(event).toEqual({ type: 'service_token.refused', outcome: 'failure', code: 'service_token_malformed', actor: undefined, ip: '192.0.2.1', detail: { app: 'payroll' } });
  const known = serviceTokenRefusalEvent(
    { ok: false, code: 'service_token_bad_secret', token: { id: 't', name: 'ci', clientId, owner: 'o@acme.test', tags: [], apps: [], expiresAt: 0, believedUnused: false } },
    { clientId, app: 'wiki', clientAddress: '192.0.2.1' },
  );
  expect(known).toMatchObject({ code: 'service_token_bad_secret', actor: 'service_token:ci', detail: { clientId, name: 'ci', app: 'wiki' } });
  expect(JSON.stringify(known)).not.toContain(secret);
});
