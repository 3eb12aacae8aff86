import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { classifyAuthenticator, type ClassifyAuthenticatorInput } from './classify-authenticator.js';
import { TEST_KEY_AAGUID, TEST_KEY_AAGUID_BYTES, trustedModel } from './test-support/ceremony-fixture.js';
import { createAttestationChain, issueCertificate } from './test-support/test-certificate-authority.js';

const NOW = Date.UTC(2026, 0, 1);
const chain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, intermediateCount: 2 });
const model = trustedModel(chain);
const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';
const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
const u2fModel = trustedModel(u2fChain, '04040404-0404-0404-0404-040404040404', 'U2F Key');

function classify(overrides: Partial<ClassifyAuthenticatorInput>) {
  return classifyAuthenticator({
    fmt: 'packed',
    statementVerified: true,
    x5c: chain.x5c,
    aaguid: TEST_KEY_AAGUID,
    backupEligible: false,
    trustedModels: [model],
    now: NOW,
    ...overrides,
  });
}

describe('classifyAuthenticator', () => {
  it('is hwk for a chain through two intermediates to the model root', () => {
    expect(classify({})).toMatchObject({ authenticatorClass: 'hwk', model: 'Test Key 5' });
  });

  it('is hwk when the authenticator also sends the root in x5c', () => {
    expect(classify({ x5c: [...chain.x5c, chain.root.der] }).authenticatorClass).toBe('hwk');
  });

  it('is swk for none, self attestation and a statement that was not verified', () => {
    expect(classify({ fmt: 'none', x5c: undefined }).authenticatorClass).toBe('swk');
    expect(classify({ x5c: undefined }).authenticatorClass).toBe('swk');
    expect(classify({ fmt: 'tpm', statementVerified: false, x5c: undefined }).authenticatorClass).toBe('swk');
  });

  it('names the format the authenticator sent in every reason', () => {
    expect(classify({ fmt: 'none', x5c: undefined }).reason).toContain('"none"');
    expect(classify({ x5c: undefined }).reason).toContain('"packed"');
    expect(classify({}).reason).toContain('"packed"');
    for (const fmt of ['tpm', 'android-key', 'android-safetynet', 'apple']) {
      expect(classify({ fmt, statementVerified: false, x5c: undefined }).reason).toContain(`"${fmt}"`);
    }
    expect(classify({ fmt: 'fido-u2f', x5c: u2fChain.x5c, aaguid: ZERO_AAGUID }).reason).toContain('"fido-u2f"');
  });

  describe('fido-u2f (no AAGUID: the model is found by its chain)', () => {
    const u2f = (overrides: Partial<ClassifyAuthenticatorInput>) =>
      classify({ fmt: 'fido-u2f', x5c: u2fChain.x5c, aaguid: ZERO_AAGUID, trustedModels: [model, u2fModel], ...overrides });

    it('is hwk, named after the model, when the certificate chains to an allowlisted root', () => {
      expect(u2f({})).toMatchObject({ authenticatorClass: 'hwk', model: 'U2F Key' });
    });

    it('is swk when no allowlisted model has the root', () => {
      const result = u2f({ trustedModels: [model] });
      expect(result.authenticatorClass).toBe('swk');
      expect(result.reason).toMatch(/does not reach the root of any allowlisted model/);
      expect(u2f({ trustedModels: [] }).authenticatorClass).toBe('swk');
    });

    it('is swk for a backup-eligible credential and outside the validity period', () => {
      expect(u2f({ backupEligible: true }).authenticatorClass).toBe('swk');
      expect(u2f({ now: Date.UTC(2050, 0, 1) }).reason).toMatch(/validity/);
    });

    it('records the first listed model when several share the root', () => {
      const sibling = { ...u2fModel, name: 'U2F Key NFC', aaguid: '05050505-0505-0505-0505-050505050505' };
      expect(u2f({ trustedModels: [u2fModel, sibling] })).toMatchObject({ authenticatorClass: 'hwk', model: 'U2F Key' });
      expect(u2f({ trustedModels: [u2fModel, sibling] }).reason).toMatch(/shared by U2F Key, U2F Key NFC/);
    });
  });

  it('is swk when a link is missing from the chain', () => {
    expect(classify({ x5c: [chain.x5c[0]!, chain.x5c[2]!] }).reason).toMatch(/not issued by/);
  });

  it('is swk when the chain is vouched for by another allowlisted model\'s root', () => {
    const otherChain = createAttestationChain({ aaguid: new Uint8Array(16).fill(3), vendor: 'Other Vendor' });
    const otherModel = trustedModel(otherChain, '03030303-0303-0303-0303-030303030303', 'Other Key');
    // Our AAGUID, but only the other vendor's root trusted for it: the chain must not be accepted.
    const result = classify({ trustedModels: [{ ...model, roots: otherModel.roots }, otherModel] });
    expect(result.authenticatorClass).toBe('swk');
  });

  it('is swk when an intermediate is not a CA', () => {
    const notCa = issueCertificate({ subject: { C: 'US', O: 'V', CN: 'Not a CA' }, issuer: chain.root, ca: false });
    const leaf = issueCertificate({
      subject: { C: 'US', O: 'V', OU: 'Authenticator Attestation', CN: 'Leaf' },
      issuer: { ...notCa, subject: notCa.subject },
      ca: false,
      aaguid: TEST_KEY_AAGUID_BYTES,
    });
    expect(classify({ x5c: [leaf.der, notCa.der] }).authenticatorClass).toBe('swk');
  });

  it('is swk outside the validity period at the injected time', () => {
    expect(classify({ now: Date.UTC(2019, 0, 1) }).reason).toMatch(/validity/);
    expect(classify({ now: Date.UTC(2050, 0, 1) }).reason).toMatch(/validity/);
  });

  it('is swk for a certificate that does not parse', () => {
    expect(classify({ x5c: [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])] }).reason).toMatch(/parse/);
  });

  it('is swk for a self-signed leaf configured as its own root', () => {
    const self = issueCertificate({ subject: { C: 'US', O: 'V', OU: 'Authenticator Attestation', CN: 'Self' }, ca: false });
    const selfModel = { ...model, roots: [new X509Certificate(self.der)] };
    expect(classify({ x5c: [self.der], trustedModels: [selfModel] }).authenticatorClass).toBe('swk');
  });
});
