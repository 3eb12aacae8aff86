import { X509Certificate } from 'node:crypto';
import { parse as parseDomain } from 'tldts';
import { z } from 'zod';

/**
 * WebAuthn relying party. Everything that binds a signature to us (RP ID, exact origins) comes from
 * here and never from request headers: a real-time relay on a lookalike domain (the 2022 campaign)
 * gets assertions for its own origin, which this exact list rejects.
 */

const DOMAIN_LABELS = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Returns why `value` is not an acceptable origin, or undefined when it is one. */
function originProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  // The browser serialises the origin as scheme://host[:port] (HTML §7.5 "ASCII serialization of an
  // origin"); the server compares strings exactly, so the configured value must be in that form.
  if (!DOMAIN_LABELS.test(url.hostname)) return 'must have a domain name host (no wildcard, no IP address)';
  if (url.origin !== value) return `must be exactly an origin such as "${url.origin}" (no path, no trailing slash, lowercase host)`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLocalhostName(url.hostname)) return undefined;
  return 'must use https (plain http is only allowed for localhost and *.localhost)';
}

const hardwareAuthenticatorSchema = z.strictObject({
  name: z.string().min(1).describe('Model name shown to admins, e.g. "YubiKey 5 NFC".'),
  aaguid: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.string().regex(AAGUID, 'must be a UUID such as "cb69481e-8ff7-4039-93ec-0a2729a154a8"'))
    .describe('Authenticator model AAGUID (from the vendor or the FIDO metadata statement).'),
  attestation_root_certificates: z
    .array(
      z.string().refine(
        (pem) => {
          try {
            return new X509Certificate(pem).ca;
          } catch {
            return false;
          }
        },
        { message: 'must be a PEM X.509 CA certificate' },
      ),
    )
    .min(1)
    .describe('PEM trust anchors of the vendor attestation chain for this model.'),
});

export const webauthnSchema = z
  .strictObject({
    rp_id: z
      .string()
      .regex(DOMAIN_LABELS, 'must be a lowercase domain name without scheme or port, e.g. "acme.com"')
      .describe('Relying party ID (WebAuthn L3 §5.1.2): a domain equal to or a parent of every origin host.'),
    rp_name: z.string().min(1).default('Gatehouse').describe('Relying party name shown by some authenticators.'),
    origins: z
      .array(
        z.string().superRefine((value, ctx) => {
          const problem = originProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: `origin "${value}" ${problem}` });
        }),
      )
      .min(1)
      .describe(
        'Exact list of origins allowed to sign in, e.g. ["https://sso.acme.com"]. Compared as plain strings: a parent-domain RP ID does not admit other subdomains.',
      ),
    user_verification: z
      .enum(['required', 'preferred', 'discouraged'])
      .default('preferred')
      .describe('Whether the authenticator must verify the user (PIN, biometric). "required" rejects keys without UV.'),
    resident_key: z
      .enum(['required', 'preferred', 'discouraged'])
      .default('preferred')
      .describe('Ask for a discoverable credential (passkey) so users can sign in without typing a username.'),
    attestation: z
      .enum(['direct', 'none'])
      .default('direct')
      .describe('Attestation conveyance. "direct" is needed to prove the key model and record AMR "hwk".'),
    timeout_seconds: z
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(300)
      .describe('Lifetime of a registration or sign-in ceremony and its challenge, in seconds.'),
    hardware_authenticators: z
      .array(hardwareAuthenticatorSchema)
      .default([])
      .describe('Allowlisted hardware models: a credential is "hwk" only when its attestation chains to one of these.'),
  })
  .superRefine((config, ctx) => {
    const suffix = parseDomain(config.rp_id, { allowPrivateDomains: true });
    if (suffix.isIp || (suffix.publicSuffix === config.rp_id && (suffix.isIcann || suffix.isPrivate))) {
      ctx.addIssue({ code: 'custom', path: ['rp_id'], message: `rp_id "${config.rp_id}" is a public suffix or an IP address` });
    }
    config.origins.forEach((origin, index) => {
      let host: string;
      try {
        host = new URL(origin).hostname;
      } catch {
        return; // already reported by the element check
      }
      // WebAuthn L3 §5.1.3 step 8: the RP ID must be the origin's effective domain or a registrable suffix of it.
      if (host !== config.rp_id && !host.endsWith(`.${config.rp_id}`)) {
        ctx.addIssue({ code: 'custom', path: ['origins', index], message: `origin "${origin}" is not within rp_id "${config.rp_id}"` });
      }
    });
    const seen = new Set<string>();
    config.hardware_authenticators.forEach((model, index) => {
      if (seen.has(model.aaguid)) {
        ctx.addIssue({ code: 'custom', path: ['hardware_authenticators', index, 'aaguid'], message: `duplicate aaguid ${model.aaguid}` });
      }
      seen.add(model.aaguid);
    });
  });

export type WebauthnConfig = z.infer<typeof webauthnSchema>;
