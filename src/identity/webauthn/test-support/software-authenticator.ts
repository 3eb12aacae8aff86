import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AttestationChain } from './test-certificate-authority.js';

/**
 * A CTAP2-style authenticator in software for tests and the login benchmark. It produces exactly the
 * JSON that @simplewebauthn/browser's startRegistration()/startAuthentication() posts, with real
 * signatures, and lets a test choose every input an attacker could: origin, RP ID (hash), challenge,
 * counter, UP/UV flags, the signing key. Test-support only (excluded from the production build).
 */

export type SoftwareKeyAlgorithm = 'ES256' | 'EdDSA';

export type AttestationChoice =
  | { readonly format: 'none' }
  /** Packed self attestation (§8.2): signed with the credential key, no x5c. */
  | { readonly format: 'packed-self' }
  /** Packed full attestation signed by the chain's leaf key, x5c = chain.x5c. */
  | { readonly format: 'packed'; readonly chain: AttestationChain }
  /** FIDO U2F attestation (§8.6) signed by the chain's leaf key, x5c = chain.x5c (one certificate for a real key). */
  | { readonly format: 'fido-u2f'; readonly chain: AttestationChain }
  /** Any format and statement, e.g. a 'tpm' statement the server should ignore. */
  | { readonly format: 'raw'; readonly fmt: string; readonly attStmt: Map<string, unknown> };

export interface SoftwareAuthenticatorOptions {
  readonly algorithm?: SoftwareKeyAlgorithm;
  /** Model identifier reported at registration; default all zeros (as privacy-preserving keys do). */
  readonly aaguid?: Uint8Array;
  readonly credentialId?: Uint8Array;
  /** Starting signature counter. */
  readonly signCount?: number;
  /** false: always report counter 0, as synced passkeys do (§6.1.1). */
  readonly countsSignatures?: boolean;
  readonly backupEligible?: boolean;
  readonly backedUp?: boolean;
  /** Claim this COSE alg in the public key (a key type the server must refuse). */
  readonly coseAlgorithm?: number;
}

export interface CeremonyOptions {
  /** base64url string (as in the options JSON) or the raw bytes. */
  readonly challenge: string | Uint8Array;
  /** What the browser would put in clientDataJSON.origin: the page's origin. */
  readonly origin: string;
  /** RP ID whose SHA-256 goes into authenticatorData (a relay uses its own). */
  readonly rpId: string;
  readonly userPresent?: boolean;
  readonly userVerified?: boolean;
  /** Members merged over { type, challenge, origin, crossOrigin: false } in clientDataJSON. */
  readonly clientData?: Readonly<Record<string, unknown>>;
}

export interface RegisterOptions extends CeremonyOptions {
  readonly attestation?: AttestationChoice;
  readonly transports?: readonly string[];
  /** user.id from the creation options; kept and returned as userHandle at sign-in. */
  readonly userId?: Uint8Array;
}

export interface AuthenticateOptions extends CeremonyOptions {
  /** Report exactly this counter (and remember it) instead of the next one. */
  readonly counter?: number;
  /** Sign with this key instead of the credential's (a forged or wrong-key assertion). */
  readonly signingKey?: KeyObject;
  /** userHandle to return; default the userId given at registration; null omits it. */
  readonly userHandle?: Uint8Array | null;
}

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;
const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

export class SoftwareAuthenticator {
  readonly algorithm: SoftwareKeyAlgorithm;
  readonly aaguid: Uint8Array;
  readonly credentialId: Uint8Array;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  signCount: number;
  userId: Uint8Array | undefined;
  private readonly options: SoftwareAuthenticatorOptions;

  constructor(options: SoftwareAuthenticatorOptions = {}) {
    this.options = options;
    this.algorithm = options.algorithm ?? 'ES256';
    this.aaguid = options.aaguid ?? new Uint8Array(16);
    this.credentialId = options.credentialId ?? randomBytes(32);
    this.signCount = options.signCount ?? 0;
    const pair = this.algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** base64url credential ID, as `id` in every response. */
  get id(): string {
    return b64url(this.credentialId);
  }

  /** The credential public key as a COSE_Key (RFC 9053 §7.1 EC2 / §7.2 OKP). */
  cosePublicKey(): Uint8Array {
    const jwk = this.publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    const alg = this.options.coseAlgorithm ?? (this.algorithm === 'ES256' ? -7 : -8);
    const map: Map<number, number | Uint8Array> =
      this.algorithm === 'ES256'
        ? new Map<number, number | Uint8Array>([[1, 2], [3, alg], [-1, 1], [-2, x], [-3, Buffer.from(jwk.y ?? '', 'base64url')]])
        : new Map<number, number | Uint8Array>([[1, 1], [3, alg], [-1, 6], [-2, x]]);
    return isoCBOR.encode(map as never);
  }

  register(options: RegisterOptions): RegistrationResponseJSON {
    this.userId = options.userId ?? this.userId;
    const clientDataJSON = this.clientDataJSON('webauthn.create', options);
    const credentialId = this.credentialId;
    const attested = Buffer.concat([
      this.aaguid,
      Buffer.from([credentialId.length >> 8, credentialId.length & 0xff]),
      credentialId,
      this.cosePublicKey(),
    ]);
    const authData = this.authenticatorData(options, this.signCount, FLAG.AT, attested);
    const attestation = options.attestation ?? { format: 'none' };
    const toBeSigned = Buffer.concat([authData, sha256(clientDataJSON)]);
    let fmt: string;
    let attStmt: Map<string, unknown>;
    if (attestation.format === 'none') {
      fmt = 'none';
      attStmt = new Map();
    } else if (attestation.format === 'packed-self') {
      fmt = 'packed';
      attStmt = new Map<string, unknown>([['alg', this.algorithm === 'ES256' ? -7 : -8], ['sig', this.signWith(this.privateKey, toBeSigned)]]);
    } else if (attestation.format === 'raw') {
      fmt = attestation.fmt;
      attStmt = attestation.attStmt;
    } else if (attestation.format === 'fido-u2f') {
      // FIDO U2F raw message formats §4.3: 0x00 || rpIdHash || clientDataHash || keyHandle || publicKey (0x04 || x || y).
      const jwk = this.publicKey.export({ format: 'jwk' });
      const u2fPublicKey = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
      const signed = Buffer.concat([Buffer.from([0x00]), sha256(Buffer.from(options.rpId, 'utf8')), sha256(clientDataJSON), credentialId, u2fPublicKey]);
      fmt = 'fido-u2f';
      attStmt = new Map<string, unknown>([
        ['sig', sign('sha256', signed, attestation.chain.leaf.privateKey)],
        ['x5c', attestation.chain.x5c.map((der) => new Uint8Array(der))],
      ]);
    } else {
      fmt = 'packed';
      attStmt = new Map<string, unknown>([
        ['alg', -7],
        ['sig', sign('sha256', toBeSigned, attestation.chain.leaf.privateKey)],
        ['x5c', attestation.chain.x5c.map((der) => new Uint8Array(der))],
      ]);
    }
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', fmt], ['attStmt', attStmt], ['authData', authData]]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        authenticatorData: b64url(authData),
        transports: [...(options.transports ?? ['usb'])] as RegistrationResponseJSON['response']['transports'],
        publicKeyAlgorithm: this.algorithm === 'ES256' ? -7 : -8,
        publicKey: b64url(this.publicKey.export({ type: 'spki', format: 'der' })),
      },
      clientExtensionResults: { credProps: { rk: true } },
      authenticatorAttachment: 'cross-platform',
    };
  }

  authenticate(options: AuthenticateOptions): AuthenticationResponseJSON {
    const countsSignatures = this.options.countsSignatures ?? true;
    const counter = options.counter ?? (countsSignatures ? this.signCount + 1 : 0);
    this.signCount = counter;
    const clientDataJSON = this.clientDataJSON('webauthn.get', options);
    const authData = this.authenticatorData(options, counter, 0);
    const signature = this.signWith(options.signingKey ?? this.privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
    const userHandle = options.userHandle === undefined ? this.userId : (options.userHandle ?? undefined);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle ? { userHandle: b64url(userHandle) } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  private clientDataJSON(type: string, options: CeremonyOptions): Buffer {
    const challenge = typeof options.challenge === 'string' ? options.challenge : b64url(options.challenge);
    // Member order of the WebAuthn L3 §5.8.1.1 serialization, as browsers write it.
    return Buffer.from(JSON.stringify({ type, challenge, origin: options.origin, crossOrigin: false, ...options.clientData }), 'utf8');
  }

  /** WebAuthn L3 §6.1: rpIdHash ‖ flags ‖ signCount (big-endian) ‖ attestedCredentialData. */
  private authenticatorData(options: CeremonyOptions, counter: number, extraFlags: number, attested?: Buffer): Buffer {
    let flags = extraFlags;
    if (options.userPresent ?? true) flags |= FLAG.UP;
    if (options.userVerified ?? true) flags |= FLAG.UV;
    if (this.options.backupEligible) flags |= FLAG.BE;
    if (this.options.backedUp) flags |= FLAG.BS;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(Buffer.from(options.rpId, 'utf8')), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  private signWith(key: KeyObject, data: Buffer): Buffer {
    // ES256: DER-encoded ECDSA-Sig-Value (§6.5.5); Ed25519: raw 64 bytes.
    return key.asymmetricKeyType === 'ed25519' ? sign(null, data, key) : sign('sha256', data, key);
  }
}
