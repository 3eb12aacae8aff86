import { X509Certificate } from 'node:crypto';
import type { WebauthnConfig } from '../../config/index.js';

/** Who we are to authenticators. Always from config, never from the Host or Origin request headers. */
export interface RelyingParty {
  /** RP ID (WebAuthn L3 §5.1.2); its SHA-256 is what authenticatorData.rpIdHash must equal. */
  readonly id: string;
  readonly name: string;
  /** Exact origins compared with string equality; a parent-domain RP ID must not admit every subdomain. */
  readonly origins: readonly string[];
}

export type UserVerification = 'required' | 'preferred' | 'discouraged';
export type ResidentKey = 'required' | 'preferred' | 'discouraged';

/** An allowlisted hardware model: its AAGUID and the vendor roots its attestation chain must reach. */
export interface TrustedAuthenticatorModel {
  readonly name: string;
  /** Lowercase UUID form, as `convertAAGUIDToString` prints it. */
  readonly aaguid: string;
  readonly roots: readonly X509Certificate[];
}

/** Everything the ceremonies need from config, parsed once per config snapshot. */
export interface WebauthnSettings {
  readonly rp: RelyingParty;
  readonly userVerification: UserVerification;
  readonly residentKey: ResidentKey;
  readonly attestation: 'direct' | 'none';
  /** Ceremony and challenge lifetime, in milliseconds. */
  readonly timeoutMs: number;
  readonly trustedModels: readonly TrustedAuthenticatorModel[];
}

export function webauthnSettingsFromConfig(config: WebauthnConfig): WebauthnSettings {
  return Object.freeze({
    rp: Object.freeze({ id: config.rp_id, name: config.rp_name, origins: Object.freeze([...config.origins]) }),
    userVerification: config.user_verification,
    residentKey: config.resident_key,
    attestation: config.attestation,
    timeoutMs: config.timeout_seconds * 1000,
    trustedModels: Object.freeze(
      config.hardware_authenticators.map((model) =>
        Object.freeze({
          name: model.name,
          aaguid: model.aaguid.toLowerCase(),
          roots: Object.freeze(model.attestation_root_certificates.map((pem) => new X509Certificate(pem))),
        }),
      ),
    ),
  });
}
