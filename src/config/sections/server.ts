import { z } from 'zod';

const listenerSchema = z.strictObject({
  host: z.string().default('::').describe('Address to listen on. `::` accepts IPv6 and IPv4 (Chromium tries ::1 first for *.localhost).'),
  port: z.number().int().min(0).max(65535).describe('TCP port; 0 picks a free port (tests).'),
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
    body_limit_bytes: z.number().int().positive().default(65_536).describe('Largest request body the portal accepts, in bytes.'),
  })
  .refine((s) => s.http || s.https, { message: 'at least one of server.http or server.https is required' });

export type ServerConfig = z.infer<typeof serverSchema>;
