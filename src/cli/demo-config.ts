import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { createKeyEncryptionKeyFile } from '../secrets/index.js';

/** The demo's key-encryption key file, beside gatehouse.yaml and outside data/ (where the database lives). */
export const DEMO_KEY_FILE = 'gatehouse.kek';

export interface DemoOptions {
  dir: string;
  host: string;
  port: number;
  selfSigned: boolean;
  /** Loopback port for Prometheus metrics (default 9464, the exporter convention). */
  metricsPort?: number;
}

/**
 * A working configuration for a first look: the portal on `sso.<host>` (Chromium and Firefox resolve
 * every `*.localhost` name to loopback and treat it as a secure context, so WebAuthn works over plain
 * HTTP there), the embedded SQLite database in ./data.
 */
export function demoConfigText(options: DemoOptions): string {
  const scheme = options.selfSigned ? 'https' : 'http';
  const portal = `sso.${options.host}`;
  const listener = options.selfSigned
    ? `  https:\n    host: "::"\n    port: ${options.port}\n    cert_file: data/tls/cert.pem\n    key_file: data/tls/key.pem\n`
    : `  http:\n    host: "::"\n    port: ${options.port}\n`;
  return `# Gatehouse demo configuration (written by \`gatehouse init\`). Reference: docs/configuration.md
server:
  portal_host: ${portal}
${listener}  # Prometheus metrics on their own listener, reachable from this machine only.
  metrics: { host: 127.0.0.1, port: ${options.metricsPort ?? 9464} }
  # Seals the signing keys and TOTP secrets in the database (mode 0600; back it up apart from the
  # database: docs/operations.md, "Key-encryption key").
  key_encryption_key_file: ${DEMO_KEY_FILE}
database:
  url: sqlite:./data/gatehouse.db

webauthn:
  rp_id: ${options.host}
  rp_name: Gatehouse demo
  # Exact origins allowed to use keys: a lookalike or a sibling subdomain is refused.
  origins:
    - ${scheme}://${portal}:${options.port}

portal:
  organisation: Gatehouse demo

identity:
  admin_groups: [admins]

# The brand whose lookalikes are flagged: \`gatehouse domain check acme-okta.com\` shows it at work.
# The demo plays Acme Corp; put your own brand names and domains here (docs/configuration.md, dns.protect).
dns:
  protect:
    brands: [acme]
    domains: [acme.com]

# Protect an app on this machine (applied on save), then open ${scheme}://whoami.${options.host}:${options.port}/
# It receives the signed header Gatehouse-Jwt-Assertion (docs/app-developers.md). Its code fetches the keys
# by address, ${scheme}://127.0.0.1:${options.port}/.well-known/jwks.json: only browsers resolve *.localhost.
# apps:
#   - name: whoami
#     host: whoami.${options.host}
#     upstream: http://127.0.0.1:3000
#     policies: [{ name: staff, action: allow, include: [{ group: [staff, admins] }] }]
`;
}

export async function writeDemo(options: DemoOptions & { force: boolean }): Promise<{ configPath: string; created: boolean; keyPath?: string; keyCreated?: boolean }> {
  const configPath = join(options.dir, 'gatehouse.yaml');
  mkdirSync(join(options.dir, 'data'), { recursive: true });
  if (existsSync(configPath) && !options.force) return { configPath, created: false };
  // Never replaced, even with --force: it may be the only key that opens the database's private keys.
  const keyPath = join(options.dir, DEMO_KEY_FILE);
  const keyCreated = !existsSync(keyPath);
  if (keyCreated) createKeyEncryptionKeyFile(keyPath, { random: cryptoRandom, clock: systemClock });
  if (options.selfSigned) await writeSelfSignedCertificate(join(options.dir, 'data', 'tls'), `sso.${options.host}`);
  writeFileSync(configPath, demoConfigText(options), { mode: 0o640 });
  return { configPath, created: true, keyPath, keyCreated };
}

/** A self-signed certificate for a demo (openssl from the OS; production uses a real certificate). */
export async function writeSelfSignedCertificate(dir: string, host: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    await promisify(execFile)(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', `/CN=${host}`,
        '-addext', `subjectAltName=DNS:${host}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { timeout: 30_000 },
    );
  } catch (error) {
    throw new Error(`could not create a self-signed certificate with openssl (is it installed?): ${(error as Error).message.split('\n')[0]}`);
  }
}
