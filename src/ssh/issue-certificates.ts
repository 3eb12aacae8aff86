import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { SshCaRing } from './ssh-ca-ring.js';
import type { IssuedSshCertificate } from './ssh-certificate.js';
import { parseSubjectPublicKey, sshFingerprint, type SshPublicKey } from './ssh-public-key.js';
import { loginsForGroups, type SshSettings } from './ssh-settings.js';
import { signSshCertificate } from './sign-ssh-certificate.js';

/**
 * Who asks for a user certificate, as the caller verified it. Gatehouse trusts every field: the caller
 * must have checked them (see `issueUserCertificate`).
 */
export interface VerifiedSshIdentity {
  userId: string;
  email: string;
  groups: readonly string[];
  /**
   * The session's non-secret handle (the first 16 hex digits of its id's SHA-256, as `session list`
   * shows it), or `cli` for an operator's issuance. Never the session id: it is a bearer secret, and
   * the key id is written to every server's log.
   */
  sessionHandle: string;
  /** How the session was authenticated (`webauthn`, `pwd+otp`, `cli`…), for the audit log. */
  authMethod: string;
  ip?: string | undefined;
}

export interface IssueCertificateDeps {
  ring: SshCaRing;
  settings: SshSettings;
  clock: Clock;
  random: Random;
  audit: AuditLog;
}

const SESSION_HANDLE = /^(cli|[0-9a-f]{16})$/;
// Printable ASCII without spaces: the key id is logged by sshd and must not forge log fields.
const KEY_ID_PART = /^[\x21-\x7e]{1,254}$/;
const HOST_PRINCIPAL = /^[A-Za-z0-9._:-]{1,253}$/;

function randomSerial(random: Random): Buffer {
  // A serial of zero means "none" to ssh-keygen's KRLs; draw again (probability 2^-64).
  for (;;) {
    const serial = random.bytes(8);
    if (serial.length !== 8) throw new TypeError('random source returned a short serial');
    if (serial.some((byte) => byte !== 0)) return serial;
  }
}

function signed(deps: IssueCertificateDeps, request: { type: 'user' | 'host'; key: SshPublicKey; principals: string[]; keyId: string; validityMs: number; skewMs: number; critical?: ReadonlyArray<readonly [string, string]>; extensions?: readonly string[] }): IssuedSshCertificate {
  const ca = deps.ring.signingCa();
  const now = deps.clock.now();
  const validAfter = Math.floor((now - request.skewMs) / 1000);
  const validBefore = Math.floor((now + request.validityMs) / 1000);
  const serial = randomSerial(deps.random);
  const certificate = signSshCertificate(ca, {
    type: request.type,
    subjectKey: request.key,
    principals: request.principals,
    keyId: request.keyId,
    serial,
    nonce: deps.random.bytes(32),
    validAfter,
    validBefore,
    criticalOptions: request.critical ?? [],
    extensions: request.extensions ?? [],
  });
  return {
    certificate: certificate.toString('openssh'),
    type: request.type,
    keyId: request.keyId,
    principals: request.principals,
    serial: serial.readBigUInt64BE().toString(),
    keyFingerprint: sshFingerprint(request.key),
    caId: ca.id,
    validAfter: validAfter * 1000,
    validBefore: validBefore * 1000,
  };
}

function refusal(code: string, detail: string): GatehouseError {
  return new GatehouseError(code, { status: 403, publicMessage: 'No SSH certificate can be issued.', detail });
}

/**
 * Issues a short-lived OpenSSH user certificate for `publicKeyText`, signed by the newest CA, and
 * audits it (`ssh.certificate_issued`, or `ssh.certificate_refused` with the code).
 *
 * The caller MUST have established, before calling:
 * - the identity: a live, unrevoked session of an active user (or an operator on the CLI), with the
 *   user's current groups;
 * - the access policy of the `ssh` app: auth_method, auth_age, groups, address and time rules;
 * - that the key is the requester's: the CLI generates it and sends the public half over the
 *   authenticated channel. A certificate names logins, not keys, so anyone holding the private key
 *   may use it until it expires (minutes).
 * This function checks only what is its own: the key's strength (`ssh_key_weak`,
 * `ssh_key_type_unsupported`, `ssh_key_invalid`), that the user maps to at least one login
 * (`ssh_no_principal`), and the session handle's shape (`ssh_bad_request`).
 */
export async function issueUserCertificate(deps: IssueCertificateDeps, identity: VerifiedSshIdentity, publicKeyText: string, actor = `user:${identity.userId}`): Promise<IssuedSshCertificate> {
  const base = { type: 'ssh.certificate_issued', userId: identity.userId, actor, ip: identity.ip };
  let fingerprint: string | undefined;
  try {
    if (!SESSION_HANDLE.test(identity.sessionHandle)) throw refusal('ssh_bad_request', 'the session handle must be 16 hex digits (never the session id) or "cli"');
    if (!KEY_ID_PART.test(identity.email)) throw refusal('ssh_bad_request', 'the email cannot be written into a key id');
    const key = parseSubjectPublicKey(publicKeyText);
    fingerprint = sshFingerprint(key);
    const principals = loginsForGroups(deps.settings, identity.groups);
    if (principals.length === 0) throw refusal('ssh_no_principal', `none of the groups [${identity.groups.join(', ')}] maps to a login (ssh.principals)`);
    const issued = signed(deps, {
      type: 'user',
      key,
      principals,
      keyId: `gatehouse:${identity.email}:${identity.sessionHandle}`,
      validityMs: deps.settings.userCertValidityMs,
      skewMs: deps.settings.clockSkewMs,
      critical: deps.settings.criticalOptions,
      extensions: deps.settings.extensions,
    });
    await deps.audit.record({
      ...base,
      outcome: 'success',
      detail: {
        user: identity.email,
        principals: issued.principals,
        serial: issued.serial,
        key_fingerprint: issued.keyFingerprint,
        key_id: issued.keyId,
        ca: issued.caId,
        valid_after: issued.validAfter,
        valid_before: issued.validBefore,
        auth_method: identity.authMethod,
      },
    });
    return issued;
  } catch (error) {
    if (isGatehouseError(error) && error.code !== 'ssh_no_ca') {
      await deps.audit.record({ ...base, type: 'ssh.certificate_refused', outcome: 'failure', code: error.code, detail: { user: identity.email, key_fingerprint: fingerprint ?? null, reason: error.detail ?? null } });
    }
    throw error;
  }
}

/**
 * Signs a server's host key, so clients that trust the CA (`@cert-authority`) accept the server
 * without a trust-on-first-use prompt. Operator-only: the caller is the CLI (`gatehouse ssh host-cert`).
 */
export async function issueHostCertificate(deps: IssueCertificateDeps, request: { hostPublicKey: string; principals: readonly string[]; actor: string }): Promise<IssuedSshCertificate> {
  const key = parseSubjectPublicKey(request.hostPublicKey);
  const principals = [...new Set(request.principals)];
  if (principals.length === 0) throw refusal('ssh_no_principal', 'a host certificate needs at least one host name');
  for (const name of principals) {
    // No wildcards: OpenSSH compares host certificate principals literally, and a pattern would be a lie.
    if (!HOST_PRINCIPAL.test(name)) throw new GatehouseError('ssh_bad_request', { status: 400, publicMessage: `host name ${JSON.stringify(name)} is not valid (letters, digits, . _ : -)`, detail: `host principal ${JSON.stringify(name)}` });
  }
  const issued = signed(deps, { type: 'host', key, principals, keyId: `gatehouse-host:${principals[0]}`, validityMs: deps.settings.hostCertValidityMs, skewMs: deps.settings.clockSkewMs });
  await deps.audit.record({
    type: 'ssh.host_certificate_issued',
    outcome: 'success',
    actor: request.actor,
    detail: { principals: issued.principals, serial: issued.serial, key_fingerprint: issued.keyFingerprint, ca: issued.caId, valid_after: issued.validAfter, valid_before: issued.validBefore },
  });
  return issued;
}
