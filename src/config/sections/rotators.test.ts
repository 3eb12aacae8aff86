import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../load-config.js';

const base = `server:
  portal_host: sso.acme.localhost
  http: { port: 8080 }
webauthn:
  rp_id: acme.localhost
  origins: ["http://sso.acme.localhost:8080"]
`;

const PG = `    type: postgres-role
    admin_url: postgres://rotator@db.internal:5432/postgres
    sink: { type: directory, path: /etc/billing/secrets }
`;

function problems(rotators: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(`${base}rotators:\n${rotators}`, 'gatehouse.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('rotators: section', () => {
  it('is empty by default, and accepts one of each type with documented defaults', () => {
    expect(parseConfig(base, 'gatehouse.yaml').rotators).toEqual({});
    const config = parseConfig(
      `${base}rotators:
  pg-main:
${PG}    admin_password_file: pg-rotator.password
    probe_url: postgres://db.internal:5432/billing
  bastion:
    type: ssh-authorized-key
    identity_file: /etc/gatehouse/rotator_ed25519
    known_hosts_file: /etc/gatehouse/known_hosts
    sink:
      type: exec
      deliver: { argv: [/usr/local/bin/vault-put, kv/ssh] }
      read_previous: { argv: [/usr/local/bin/vault-get, kv/ssh], timeout_ms: 5000 }
      staging_dir: /var/lib/gatehouse/rotation-staging
  wiki:
    type: exec
    commands:
      wiki-api: { argv: [/usr/local/bin/rotate-wiki, --tenant, acme] }
`,
      'gatehouse.yaml',
    );
    expect(config.rotators['pg-main']).toMatchObject({ type: 'postgres-role', connect_timeout_ms: 5000, terminate_sessions: true, sink: { type: 'directory', file_name: '{name}.secret' } });
    expect(config.rotators.bastion).toMatchObject({ ssh_binary: '/usr/bin/ssh', authorized_keys_path: '.ssh/authorized_keys', timeout_ms: 15_000, sink: { deliver: { timeout_ms: 60_000 }, staging_dir: '/var/lib/gatehouse/rotation-staging' } });
    expect(config.rotators.wiki).toMatchObject({ commands: { 'wiki-api': { timeout_ms: 60_000 } } });
  });

  it('does not mistake ordinary paths and arguments for secrets', () => {
    const config = parseConfig(
      `${base}rotators:
  bastion:
    type: ssh-authorized-key
    identity_file: /var/lib/gatehouse/billing2024production/rotator_ed25519
    known_hosts_file: /tmp/gatehouse-rotators-config-AbC123/known_hosts
    sink: { type: exec, deliver: { argv: [/usr/local/bin/rotate-wiki-credentials, --path, secret/data/ssh/deploy-key, "--ttl=720h"] } }
`,
      'gatehouse.yaml',
    );
    expect(config.rotators.bastion?.type).toBe('ssh-authorized-key');
  });

  it('refuses an unknown type, naming the path', () => {
    expect(problems('  pg-main:\n    type: mysql-user\n')).toMatch(/^rotators\["pg-main"\]\.type: /);
  });

  it('refuses a missing field and an unknown key, naming each path', () => {
    const text = problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator@db/postgres\n    adminurl: x\n');
    expect(text).toContain('rotators["pg-main"].sink: ');
    expect(text).toContain('rotators["pg-main"].adminurl: unknown key (did you mean "admin_url"?)');
  });

  it('refuses a password in the admin URL without echoing it', () => {
    const text = problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator:hunter2-S3cret@db/postgres\n    sink: { type: directory, path: s }\n');
    expect(text).toBe('rotators["pg-main"].admin_url: must be a postgres:// URL with a host and no password; give the password in admin_password_file or admin_password');
    expect(text).not.toContain('hunter2');
  });

  it('refuses both password sources, and a probe URL naming a user', () => {
    expect(problems(`  pg-main:\n${PG}    admin_password_file: a\n    admin_password: b\n`)).toBe('rotators["pg-main"].admin_password: set one of admin_password_file and admin_password, not both');
    expect(problems(`  pg-main:\n${PG}    probe_url: postgres://svc@db/billing\n`)).toBe('rotators["pg-main"].probe_url: must name no user: the probe logs in as the item\'s role');
  });

  it('refuses a secret-looking value where a file path is expected, never echoing it', () => {
    const key = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
    const text = problems(`  bastion:
    type: ssh-authorized-key
    identity_file: "-----BEGIN OPENSSH PRIVATE KEY-----\\n${key}\\n-----END OPENSSH PRIVATE KEY-----"
    known_hosts_file: ${key}
    sink: { type: directory, path: keys }
`);
    expect(text).toContain('rotators.bastion.identity_file: must be the path of the admin private key file, not its content');
    expect(text).toContain('rotators.bastion.known_hosts_file: must be the path of the known_hosts file; this looks like the secret itself');
    expect(text).not.toContain(key);
    expect(problems(`  pg-main:\n${PG}    admin_password_file: "\${env:PGPW}"\n`, { PGPW: 'Zq8xW2mK9pLr4TvB7nYc3Hs' })).toMatch(/^rotators\["pg-main"\]\.admin_password_file: must be the path of the admin password file; this looks like the secret itself/);
  });

  it('refuses a relative or secret-bearing argv, naming the element', () => {
    expect(problems('  wiki:\n    type: exec\n    commands:\n      api: { argv: [rotate-wiki] }\n')).toBe('rotators.wiki.commands.api.argv[0]: must be an absolute path to the program');
    const text = problems('  wiki:\n    type: exec\n    commands:\n      api: { argv: [/usr/local/bin/rotate-wiki, "--token=ghp_9fK2mQ7xLp4ZrT8vW1nB6cY3"] }\n');
    expect(text).toBe('rotators.wiki.commands.api.argv[1]: looks like a secret; argv is visible to every local user, so a command must read secrets from a file or its stdin');
    expect(problems('  wiki:\n    type: exec\n    commands: {}\n')).toBe('rotators.wiki.commands: name at least one command');
  });

  it('refuses a bad sink: unknown type, file name without a placeholder, relative deliver program', () => {
    expect(problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator@db/postgres\n    sink: { type: vault }\n')).toMatch(/^rotators\["pg-main"\]\.sink\.type: /);
    expect(problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator@db/postgres\n    sink: { type: directory, path: s, file_name: billing.secret }\n')).toBe(
      'rotators["pg-main"].sink.file_name: must contain {name} or {item}, and no other placeholder',
    );
    expect(problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator@db/postgres\n    sink: { type: exec, deliver: { argv: [vault] } }\n')).toBe('rotators["pg-main"].sink.deliver.argv[0]: must be an absolute path to the program');
    expect(problems('  pg-main:\n    type: postgres-role\n    admin_url: postgres://rotator@db/postgres\n    sink: { type: exec, deliver: { argv: [/usr/bin/vault] }, staging_dir: "Zq8xW2mK9pLr4TvB7nYc3Hs" }\n')).toMatch(
      /^rotators\["pg-main"\]\.sink\.staging_dir: must be the path of the staging directory; this looks like the secret itself/,
    );
  });

  it('refuses names the inventory could not use, and the token rotator\'s name', () => {
    expect(problems(`  PG_Main:\n${PG}`)).toMatch(/^rotators\.PG_Main: a rotator name is lower-case letters/);
    expect(problems(`  gatehouse-service-token:\n${PG}`)).toBe('rotators["gatehouse-service-token"]: is the name of Gatehouse\'s own service-token rotation');
  });
});
