import { randomBytes, X509Certificate } from 'node:crypto';
import { GatehouseError } from '../../../lib/errors.js';
import type { RelyingParty, TrustedAuthenticatorModel } from '../webauthn-settings.js';
import type { AttestationChain } from './test-certificate-authority.js';

/** Shared names for the ceremony tests: the real portal and the 2022-style lookalike relay. */
export const RP: RelyingParty = Object.freeze({
  id: 'acme.localhost',
  name: 'Acme',
  origins: Object.freeze(['http://sso.acme.localhost', 'https://sso.acme.localhost:8443']),
});
export const PORTAL_ORIGIN = 'http://sso.acme.localhost';
export const RELAY_ORIGIN = 'https://acme-okta.localhost';
export const RELAY_RP_ID = 'acme-okta.localhost';

export const TEST_KEY_AAGUID = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
export const TEST_KEY_AAGUID_BYTES = new Uint8Array(Buffer.from(TEST_KEY_AAGUID.replaceAll('-', ''), 'hex'));

export function freshChallenge(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export function trustedModel(chain: AttestationChain, aaguid = TEST_KEY_AAGUID, name = 'Test Key 5'): TrustedAuthenticatorModel {
  return { name, aaguid, roots: [new X509Certificate(chain.root.pem)] };
}

/** Runs `action` and returns the GatehouseError code it threw, or "no error". Other errors propagate. */
export async function errorCodeOf(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof GatehouseError) return error.code;
    throw error;
  }
  return 'no error';
}
