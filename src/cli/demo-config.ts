import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
`;
}

export async function writeDemo(options: DemoOptions & { force: boolean }): Promise<{ configPath: string; created: boolean }> {
  const configPath = join(options.dir, 'gatehouse.yaml');
  mkdirSync(join(options.dir, 'data'), { recursive: true });
  if (existsSync(configPath) && !options.force) return { configPath, created: false };
  if (options.selfSigned) await writeSelfSignedCertificate(join(options.dir, 'data', 'tls'), `sso.${options.host}`);
  writeFileSync(configPath, demoConfigText(options), { mode: 0o640 });
  return { configPath, created: true };
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
