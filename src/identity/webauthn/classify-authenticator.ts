import { X509Certificate } from 'node:crypto';
import type { TrustedAuthenticatorModel } from './webauthn-settings.js';

/** RFC 8176 §2 AMR values: "hwk" proof of a hardware-secured key, "swk" of a software-secured one. */
export type AuthenticatorClass = 'hwk' | 'swk';

export interface AuthenticatorClassification {
  readonly authenticatorClass: AuthenticatorClass;
  /** Name of the allowlisted model when hwk. */
  readonly model: string | undefined;
  /** Why this class was chosen, for the audit log. */
  readonly reason: string;
}

export interface ClassifyAuthenticatorInput {
  /** attestationObject.fmt as sent, named in every reason. */
  readonly fmt: string;
  /** False for a format whose statement is ignored (not verified offline): it proves nothing. */
  readonly statementVerified: boolean;
  /** x5c of the verified statement, leaf first; undefined without a chain (none, self attestation). */
  readonly x5c: readonly Uint8Array[] | undefined;
  readonly aaguid: string;
  readonly backupEligible: boolean;
  readonly trustedModels: readonly TrustedAuthenticatorModel[];
  /** Milliseconds since the epoch: certificate validity is judged at this time. */
  readonly now: number;
}

const MAX_CHAIN_LENGTH = 5;

const swk = (reason: string): AuthenticatorClassification => ({ authenticatorClass: 'swk', model: undefined, reason });

/**
 * Decides hwk vs swk. A chain given here belongs to a statement that verified (its leaf signed over
 * authData and clientDataHash), so what is left is trust: does it reach the roots of an allowlisted
 * model? Every reason names the format the authenticator sent, for the audit log.
 */
export function classifyAuthenticator(input: ClassifyAuthenticatorInput): AuthenticatorClassification {
  const { fmt, x5c } = input;
  if (!input.statementVerified) return swk(`"${fmt}" attestation statement is not verified offline, so it proves no model`);
  if (!x5c || x5c.length === 0) return swk(`"${fmt}" attestation without a certificate chain proves no model`);
  if (fmt === 'packed') return classifyByAaguid(input, x5c);
  if (fmt === 'fido-u2f') return classifyByChain(input, x5c);
  return swk(`"${fmt}" attestation proves no model`);
}

/**
 * packed: the AAGUID names the model, and the chain must reach the roots of that one model. Roots are
 * per model, so a chain from vendor A cannot vouch for an AAGUID that the allowlist gives to vendor B.
 */
function classifyByAaguid(input: ClassifyAuthenticatorInput, x5c: readonly Uint8Array[]): AuthenticatorClassification {
  const model = input.trustedModels.find((candidate) => candidate.aaguid === input.aaguid);
  if (!model) return swk(`"${input.fmt}" attestation: aaguid ${input.aaguid} is not an allowlisted hardware model`);
  // WebAuthn L3 §6.1.3: a backup-eligible credential may be synced off the device, so whatever the
  // attestation says about the model, the private key is not bound to that hardware.
  if (input.backupEligible) return swk(`credential of ${model.name} is backup eligible (may leave the device)`);
  const problem = chainProblem(x5c, model.roots, input.now);
  if (problem) return swk(`"${input.fmt}" attestation chain does not reach a ${model.name} root: ${problem}`);
  return { authenticatorClass: 'hwk', model: model.name, reason: `"${input.fmt}" attestation chains to ${model.name}` };
}

/**
 * fido-u2f (§8.6): U2F has no AAGUID (the client writes zeros), so the attestation certificate alone
 * says whose hardware made the key: the model is the allowlisted one whose roots it chains to. Models
 * sharing a vendor root cannot be told apart this way; the first listed is recorded.
 */
function classifyByChain(input: ClassifyAuthenticatorInput, x5c: readonly Uint8Array[]): AuthenticatorClassification {
  if (input.backupEligible) return swk(`"${input.fmt}" credential is backup eligible (may leave the device)`);
  const problems = input.trustedModels.map((candidate) => ({ candidate, problem: chainProblem(x5c, candidate.roots, input.now) }));
  const models = problems.filter(({ problem }) => problem === undefined).map(({ candidate }) => candidate);
  const [model] = models;
  if (!model) {
    const why = problems.map(({ candidate, problem }) => `${candidate.name}: ${problem}`).join('; ');
    return swk(`"${input.fmt}" attestation chain does not reach the root of any allowlisted model${why ? ` (${why})` : ''}`);
  }
  const shared = models.length > 1 ? ` (root shared by ${models.map((m) => m.name).join(', ')})` : '';
  return { authenticatorClass: 'hwk', model: model.name, reason: `"${input.fmt}" attestation chains to ${model.name}${shared}` };
}

function validAt(cert: X509Certificate, now: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= now && now <= to;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    // checkIssued compares names, key identifiers and the issuer's keyUsage; verify checks the signature.
    return issuer.ca && child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** RFC 5280 §6.1 path validation, reduced to what an attestation chain needs; undefined when valid. */
function chainProblem(x5c: readonly Uint8Array[], roots: readonly X509Certificate[], now: number): string | undefined {
  let chain: X509Certificate[];
  try {
    chain = x5c.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return 'a certificate does not parse';
  }
  // Some authenticators include the root itself at the end of x5c; the configured copy is what counts.
  while (chain.length > 1 && roots.some((root) => root.raw.equals(chain[chain.length - 1]!.raw))) chain.pop();
  if (chain.length > MAX_CHAIN_LENGTH) return `chain longer than ${MAX_CHAIN_LENGTH}`;
  for (const [index, cert] of chain.entries()) {
    if (!validAt(cert, now)) return `certificate ${index} is outside its validity period`;
    const issuer = chain[index + 1];
    if (issuer && !issuedBy(cert, issuer)) return `certificate ${index} is not issued by certificate ${index + 1}`;
  }
  const last = chain[chain.length - 1]!;
  const anchor = roots.find((root) => issuedBy(last, root));
  if (!anchor) return 'no configured root issued the top certificate';
  if (!validAt(anchor, now)) return 'the root is outside its validity period';
  return undefined;
}
