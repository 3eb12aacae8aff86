import { describe, expect, it } from 'vitest';
import { webauthnSettingsFromConfig } from '../../identity/webauthn/webauthn-settings.js';
import { createAttestationChain } from '../../identity/webauthn/test-support/test-certificate-authority.js';
import { webauthnSchema } from './webauthn.js';

const root = createAttestationChain({ aaguid: new Uint8Array(16) }).root;
const minimal = { rp_id: 'acme.com', origins: ['https://sso.acme.com'] };

function problems(input: unknown): string[] {
  const result = webauthnSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('webauthn config section', () => {
  it('fills documented defaults', () => {
    expect(webauthnSchema.parse(minimal)).toEqual({
      ...minimal,
      rp_name: 'Gatehouse',
      user_verification: 'preferred',
      resident_key: 'preferred',
      attestation: 'direct',
      timeout_seconds: 300,
      hardware_authenticators: [],
    });
  });

  it('accepts https origins and http only on localhost names', () => {
    expect(problems({ rp_id: 'acme.localhost', origins: ['http://sso.acme.localhost', 'https://sso.acme.localhost:8443'] })).toEqual([]);
    expect(problems({ rp_id: 'localhost', origins: ['http://localhost:3000'] })).toEqual([]);
    expect(problems({ rp_id: 'acme.com', origins: ['http://sso.acme.com'] })[0]).toMatch(/origins.0: .*must use https/);
  });

  it('requires exact origins: no path, no trailing slash, no uppercase, no wildcard', () => {
    for (const origin of ['https://sso.acme.com/', 'https://sso.acme.com/login', 'https://SSO.acme.com', 'https://*.acme.com', 'sso.acme.com']) {
      expect(problems({ rp_id: 'acme.com', origins: [origin] }), origin).not.toEqual([]);
    }
  });

  it('refuses origins outside the RP ID, public-suffix and IP RP IDs, unknown keys', () => {
    expect(problems({ rp_id: 'acme.com', origins: ['https://acme-okta.com'] })[0]).toMatch(/origins.0: .*not within rp_id/);
    expect(problems({ rp_id: 'acme.com', origins: ['https://evilacme.com'] })[0]).toMatch(/not within rp_id/);
    expect(problems({ rp_id: 'com', origins: ['https://acme.com'] })[0]).toMatch(/rp_id: .*public suffix/);
    expect(problems({ rp_id: 'github.io', origins: ['https://acme.github.io'] })[0]).toMatch(/public suffix/);
    expect(problems({ rp_id: '127.0.0.1', origins: ['https://127.0.0.1'] })).not.toEqual([]);
    expect(problems({ rp_id: 'https://acme.com', origins: ['https://acme.com'] })[0]).toMatch(/^rp_id:/);
    expect(problems({ ...minimal, origin: 'https://sso.acme.com' })[0]).toMatch(/origin/);
    expect(problems({ rp_id: 'acme.com', origins: [] })[0]).toMatch(/^origins:/);
  });

  it('validates hardware authenticators: UUID AAGUID, PEM CA roots, no duplicates', () => {
    const model = { name: 'Key', aaguid: 'CB69481E-8FF7-4039-93EC-0A2729A154A8', attestation_root_certificates: [root.pem] };
    const parsed = webauthnSchema.parse({ ...minimal, hardware_authenticators: [model] });
    expect(parsed.hardware_authenticators[0]!.aaguid).toBe('cb69481e-8ff7-4039-93ec-0a2729a154a8');
    expect(problems({ ...minimal, hardware_authenticators: [{ ...model, aaguid: 'yubikey' }] })[0]).toMatch(/aaguid/);
    expect(problems({ ...minimal, hardware_authenticators: [{ ...model, attestation_root_certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] }] })[0]).toMatch(
      /attestation_root_certificates.0: must be a PEM/,
    );
    expect(problems({ ...minimal, hardware_authenticators: [model, model] })[0]).toMatch(/duplicate aaguid/);
  });

  it('turns into frozen ceremony settings with parsed roots', () => {
    const settings = webauthnSettingsFromConfig(
      webauthnSchema.parse({ ...minimal, timeout_seconds: 120, hardware_authenticators: [{ name: 'Key', aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8', attestation_root_certificates: [root.pem] }] }),
    );
    expect(settings.rp).toEqual({ id: 'acme.com', name: 'Gatehouse', origins: ['https://sso.acme.com'] });
    expect(settings.timeoutMs).toBe(120_000);
    expect(settings.trustedModels[0]!.roots[0]!.raw.equals(root.der)).toBe(true);
    expect(Object.isFrozen(settings.rp.origins)).toBe(true);
  });
});
