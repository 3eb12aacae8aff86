import { webauthnError, WebauthnErrorCode, type WebauthnCeremony } from './webauthn-errors.js';

/** The members of CollectedClientData (WebAuthn L3 §5.8.1) that the server checks. */
export interface CollectedClientData {
  readonly type: string;
  readonly challenge: string;
  readonly origin: string;
  readonly crossOrigin: boolean | undefined;
  readonly topOrigin: string | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeClientData(ceremony: WebauthnCeremony, clientDataJSON: Uint8Array): CollectedClientData {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(clientDataJSON));
  } catch {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'clientDataJSON is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'clientDataJSON is not an object');
  }
  // tokenBinding is not read at all: WebAuthn L3 §5.8.1 dropped the member and §7.1/§7.2 no longer
  // check it, and older clients and U2F bridges sent it in every shape (objects with any status, the
  // string "unused"). Ignoring it loses nothing: no browser binds tokens, and the signature still
  // covers the bytes as sent.
  const { type, challenge, origin, crossOrigin, topOrigin } = value as Record<string, unknown>;
  if (typeof type !== 'string' || typeof challenge !== 'string' || typeof origin !== 'string') {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'clientDataJSON lacks string type, challenge or origin');
  }
  if (crossOrigin !== undefined && typeof crossOrigin !== 'boolean') {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'clientDataJSON.crossOrigin is not a boolean');
  }
  if (topOrigin !== undefined && typeof topOrigin !== 'string') {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'clientDataJSON.topOrigin is not a string');
  }
  return { type, challenge, origin, crossOrigin, topOrigin };
}

export interface ClientDataExpectation {
  readonly type: 'webauthn.create' | 'webauthn.get';
  /** base64url (no padding) of the challenge bytes the server issued. */
  readonly challenge: string;
  readonly origins: readonly string[];
}

/**
 * WebAuthn L3 §7.1 steps 7-10 and §7.2 steps 11-14. The origin is checked before the challenge on
 * purpose: a real-time relay forwards our genuine challenge, so "origin mismatch" is the code that
 * names the phishing attempt in the audit log, whatever else is also wrong.
 */
export function checkClientData(
  ceremony: WebauthnCeremony,
  clientDataJSON: Uint8Array,
  expected: ClientDataExpectation,
): CollectedClientData {
  const clientData = decodeClientData(ceremony, clientDataJSON);
  if (clientData.type !== expected.type) {
    throw webauthnError(ceremony, WebauthnErrorCode.typeMismatch, `type "${clientData.type}", expected "${expected.type}"`);
  }
  // Plain string equality against the exact configured list: never a suffix or pattern match, since
  // an RP ID set to a parent domain lets every subdomain obtain genuine signatures.
  if (!expected.origins.includes(clientData.origin)) {
    throw webauthnError(ceremony, WebauthnErrorCode.originMismatch, `origin "${truncate(clientData.origin)}" is not allowed`);
  }
  // §5.8.1: crossOrigin true / topOrigin present mean the ceremony ran in an iframe under another
  // site (clickjacking-style framing). Gatehouse's portal is never framed, so both are refused.
  if (clientData.crossOrigin === true || clientData.topOrigin !== undefined) {
    throw webauthnError(
      ceremony,
      WebauthnErrorCode.crossOrigin,
      `crossOrigin=${String(clientData.crossOrigin)} topOrigin="${truncate(clientData.topOrigin ?? '')}"`,
    );
  }
  if (clientData.challenge !== expected.challenge) {
    throw webauthnError(ceremony, WebauthnErrorCode.challengeMismatch, 'challenge is not the one issued for this ceremony');
  }
  return clientData;
}

/** Attacker-chosen strings go to the audit log: keep them short. */
function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
