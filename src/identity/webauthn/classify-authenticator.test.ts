import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { classifyAuthenticator, type ClassifyAuthenticatorInput } from './classify-authenticator.js';
import { TEST_KEY_AAGUID, TEST_KEY_AAGUID_BYTES, trustedModel } from './test-support/ceremony-fixture.js';
import { createAttestationChain, issueCertificate } from './test-support/test-certificate-authority.js';

const NOW = Date.UTC(2026, 0, 1);
const chain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, intermediateCount: 2 });
const model = trustedModel(chain);

function classify(overrides: Partial<ClassifyAuthenticatorInput>) {
  return classifyAuthenticator({
    fmt: 'packed',
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

  it('is swk for none, self attestation and non-packed formats', () => {
    expect(classify({ fmt: 'none', x5c: undefined }).authenticatorClass).toBe('swk');
    expect(classify({ x5c: undefined }).authenticatorClass).toBe('swk');
    expect(classify({ fmt: 'fido-u2f' }).authenticatorClass).toBe('swk');
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
