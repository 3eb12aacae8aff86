/**
 * A tampered client: signs a WebAuthn assertion with a credential's private key (exported from the
 * CDP virtual authenticator) for any origin it likes. A real browser never does this — it writes the
 * origin it actually talks to into clientDataJSON — so this is the strongest relay imaginable: it
 * holds the key and lies about the origin. The server must still refuse (WebAuthn L3 §7.2 step 13).
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import type { VirtualCredential } from '../support/browser.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

export interface ForgeInput {
  credential: VirtualCredential;
  /** The relying party id whose hash goes into authenticatorData (the real one: acme.localhost). */
  rpId: string;
  /** The origin written into clientDataJSON. */
  origin: string;
  /** The server's challenge, base64url as sent in the options. */
  challenge: string;
  signCount: number;
}

/** An AuthenticationResponseJSON as @simplewebauthn/browser would post it. */
export function forgeAssertion(input: ForgeInput): Record<string, unknown> {
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: input.challenge, origin: input.origin, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(input.signCount);
  // §6.1 authenticator data: rpIdHash (32) | flags (UP 0x01, UV 0x04) | signCount (big-endian u32).
  const authenticatorData = Buffer.concat([sha256(input.rpId), Buffer.from([0x05]), counter]);
  const key = createPrivateKey({ key: Buffer.from(input.credential.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  // §6.3.3: the signature covers authenticatorData || SHA-256(clientDataJSON); ES256 is DER-encoded.
  const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), key);
  const id = Buffer.from(input.credential.credentialId, 'base64').toString('base64url');
  return {
    id,
    rawId: id,
    type: 'public-key',
    authenticatorAttachment: 'cross-platform',
    clientExtensionResults: {},
    response: {
      clientDataJSON: clientDataJSON.toString('base64url'),
      authenticatorData: authenticatorData.toString('base64url'),
      signature: signature.toString('base64url'),
      ...(input.credential.userHandle ? { userHandle: Buffer.from(input.credential.userHandle, 'base64').toString('base64url') } : {}),
    },
  };
}
