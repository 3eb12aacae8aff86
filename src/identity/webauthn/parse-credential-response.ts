import { z } from 'zod';
import { webauthnError, WebauthnErrorCode, type WebauthnCeremony } from './webauthn-errors.js';

/**
 * The JSON that @simplewebauthn/browser's startRegistration/startAuthentication posts, parsed from an
 * untrusted body into bytes. Nothing downstream sees the raw body: fields are copied, sizes capped
 * (a hostile client must not make us CBOR-decode megabytes) and base64url checked strictly.
 */

// WebAuthn L3 §5.1 and §6.1: base64url without padding, as the browser library produces it.
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function base64url(maxBytes: number) {
  return z
    .string()
    .max(Math.ceil((maxBytes * 4) / 3))
    .refine((s) => BASE64URL.test(s) && s.length % 4 !== 1, 'is not base64url')
    .transform((s) => new Uint8Array(Buffer.from(s, 'base64url')))
    .refine((bytes) => bytes.length > 0, 'is empty');
}

const credentialBase = {
  // §4 "credential ID": at most 1023 bytes.
  id: z.string().min(1).max(1400),
  rawId: base64url(1023),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
};

const registrationShape = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(8 * 1024),
    attestationObject: base64url(64 * 1024),
    transports: z.array(z.string().regex(/^[a-z-]{1,32}$/)).max(8).optional(),
  }),
});

const authenticationShape = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(8 * 1024),
    authenticatorData: base64url(16 * 1024),
    signature: base64url(4 * 1024),
    // §5.4.3: user.id is at most 64 bytes; browsers send an empty string or omit it when absent.
    userHandle: z.union([base64url(64), z.literal('').transform(() => undefined)]).optional(),
  }),
});

/** Bytes backed by a plain ArrayBuffer, as the library's helpers expect. */
export type Bytes = Uint8Array<ArrayBuffer>;

export interface ParsedRegistrationResponse {
  readonly credentialId: string;
  readonly rawId: Bytes;
  readonly clientDataJSON: Bytes;
  readonly attestationObject: Bytes;
  readonly transports: readonly string[];
  readonly authenticatorAttachment: 'platform' | 'cross-platform' | undefined;
}

export interface ParsedAuthenticationResponse {
  readonly credentialId: string;
  readonly rawId: Bytes;
  readonly clientDataJSON: Bytes;
  readonly authenticatorData: Bytes;
  readonly signature: Bytes;
  readonly userHandle: Bytes | undefined;
}

function parseBody<T>(ceremony: WebauthnCeremony, schema: z.ZodType<T>, body: unknown): T {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'credential response is not JSON');
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'credential response';
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function checkIdMatchesRawId(ceremony: WebauthnCeremony, id: string, rawId: Uint8Array): void {
  // §5.1: id is the base64url encoding of rawId; two spellings of one credential would let a
  // client address a credential under a name the store does not index.
  if (Buffer.from(rawId).toString('base64url') !== id) {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'id is not the base64url encoding of rawId');
  }
}

export function parseRegistrationResponse(body: unknown): ParsedRegistrationResponse {
  const parsed = parseBody('registration', registrationShape, body);
  checkIdMatchesRawId('registration', parsed.id, parsed.rawId);
  return {
    credentialId: parsed.id,
    rawId: parsed.rawId,
    clientDataJSON: parsed.response.clientDataJSON,
    attestationObject: parsed.response.attestationObject,
    transports: parsed.response.transports ?? [],
    authenticatorAttachment: parsed.authenticatorAttachment,
  };
}

export function parseAuthenticationResponse(body: unknown): ParsedAuthenticationResponse {
  const parsed = parseBody('authentication', authenticationShape, body);
  checkIdMatchesRawId('authentication', parsed.id, parsed.rawId);
  return {
    credentialId: parsed.id,
    rawId: parsed.rawId,
    clientDataJSON: parsed.response.clientDataJSON,
    authenticatorData: parsed.response.authenticatorData,
    signature: parsed.response.signature,
    userHandle: parsed.response.userHandle,
  };
}
