import { z } from 'zod';

const listenerSchema = z.strictObject({
  host: z.string().default('::').describe('Address to listen on. `::` accepts IPv6 and IPv4 (Chromium tries ::1 first for *.localhost).'),
  port: z.number().int().min(0).max(65535).describe('TCP port; 0 picks a free port (tests).'),
});

/**
 * Loopback hosts (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3, RFC 6761 §6.3): traffic there never leaves the
 * machine. Only the name `localhost` itself: resolvers do not all keep `*.localhost` on loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

const metricsSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Address of the Prometheus listener; loopback by default so only the machine itself can scrape.'),
    port: z.number().int().min(0).max(65535).default(9464).describe('TCP port of the Prometheus listener; 0 picks a free port (tests).'),
    bearer_token: z
      .string()
      .min(16)
      .optional()
      .describe('Scrapers must send `Authorization: Bearer <token>`; write `${env:NAME}`. Required when `host` is not loopback.'),
  })
  // Metrics name apps, users' sign-in outcomes and blocked domains: reachable off the machine, they
  // need a credential.
  .refine((m) => isLoopbackHost(m.host) || m.bearer_token !== undefined, {
    message: 'a metrics listener on a non-loopback host needs bearer_token',
    path: ['bearer_token'],
  });

export const serverSchema = z
  .strictObject({
    portal_host: z
      .string()
      .min(1)
      .describe('Host name of the sign-in portal, e.g. `sso.acme.com`. Requests for other hosts go to apps.'),
    public_url: z
      .url()
      .optional()
      .describe('External URL of the portal, e.g. `https://sso.acme.com`. Default: built from portal_host and the first listener.'),
    http: listenerSchema.optional().describe('Plain HTTP listener. Use only behind TLS termination or on localhost.'),
    https: listenerSchema
      .extend({
        cert_file: z.string().describe('PEM certificate chain file.'),
        key_file: z.string().describe('PEM private key file.'),
      })
      .optional()
      .describe('HTTPS listener.'),
    metrics: metricsSchema
      .optional()
      .describe('Prometheus `/metrics` on its own listener, never on the portal or app hosts. Without it metrics are not served.'),
    hsts: z
      .strictObject({
        include_subdomains: z
          .boolean()
          .default(false)
          .describe('Add `includeSubDomains` (RFC 6797 §6.1.2) to HSTS: every subdomain of the portal host must then serve HTTPS.'),
      })
      .default({ include_subdomains: false })
      .describe('HTTP Strict Transport Security, sent on responses over TLS.'),
    body_limit_bytes: z.number().int().positive().default(65_536).describe('Largest request body the portal accepts, in bytes.'),
    key_encryption_key_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Key file (mode 0600, relative to this file) whose key-encryption key seals the signing keys, the audit checkpoint key, the SSH CA keys and TOTP secrets in the database. `serve` refuses to start without one (or `key_encryption_key`). Create with `gatehouse secrets init-kek`.',
      ),
    key_encryption_key: z
      .string()
      .min(1)
      .optional()
      .describe('The key-encryption key itself instead of a file: write `${env:NAME}`. Holds the key file\'s text or one base64url 32-byte key.'),
  })
  .refine((s) => s.http || s.https, { message: 'at least one of server.http or server.https is required' })
  .refine((s) => s.key_encryption_key_file === undefined || s.key_encryption_key === undefined, {
    message: 'set one of key_encryption_key_file and key_encryption_key, not both',
    path: ['key_encryption_key'],
  });

export type ServerConfig = z.infer<typeof serverSchema>;
