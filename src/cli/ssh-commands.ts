import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { GatehouseCore } from '../core.js';
import { GatehouseError, InputError } from '../lib/errors.js';
import type { IssuedSshCertificate, SshCertificateAuthority } from '../ssh/index.js';
import type { CliContext } from './cli-context.js';
import { withCore } from './open-config.js';
import { emit, isoTime } from './output.js';
import { registerSshConnect } from './ssh-connect.js';
import { registerSshConfig } from './tunnel-commands.js';
import { parseDuration } from './token-commands.js';

interface Common {
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Opens the CA on the CLI's core (creating the first generation if there is none: it needs the KEK). */
async function withCa<T>(cli: CliContext, run: (ca: SshCertificateAuthority, core: GatehouseCore) => Promise<T>): Promise<T> {
  const { createSshCertificateAuthority, sshSettingsOf } = await import('../ssh/index.js');
  return withCore(cli, async (core) => {
    const ca = createSshCertificateAuthority({ db: core.store.db, sealer: core.secrets, clock: core.clock, random: core.random, audit: core.audit, settings: sshSettingsOf(core.snapshot().config.ssh) });
    await ca.open('cli');
    return run(ca, core);
  });
}

/** Reads a public key file; a private key given by mistake is refused before anything is read into a message. */
function readPublicKeyFile(cli: CliContext, flag: string, file: string): string {
  const text = readFileSync(resolve(cli.io.cwd, file), 'utf8');
  if (text.includes('PRIVATE KEY')) throw new InputError(`${flag} ${file}: this is a private key; give the public key (${file}.pub)`, 'usage');
  return text;
}

function printIssued(cli: CliContext, options: Common & { out?: string }, issued: IssuedSshCertificate): void {
  if (options.out) writeFileSync(resolve(cli.io.cwd, options.out), `${issued.certificate}\n`, { mode: 0o644 });
  const { certificate, ...facts } = issued;
  const summary = { ...facts, validAfter: isoTime(issued.validAfter), validBefore: isoTime(issued.validBefore), ...(options.out ? { out: options.out } : { certificate }) };
  emit(cli, options.json, summary, () =>
    [
      ...(options.out ? [] : [certificate]),
      `# ${issued.type} certificate ${issued.keyId}, serial ${issued.serial}, principals ${issued.principals.join(',')}, valid ${isoTime(issued.validAfter)} to ${isoTime(issued.validBefore)}${options.out ? `, written to ${options.out}` : ''}`,
    ].join('\n'),
  );
}

export function registerSshCommands(program: Command, cli: CliContext): void {
  const ssh = program.command('ssh').description('Connect with a short-lived certificate (`gatehouse ssh [--app NAME] [user@]host`, after `gatehouse login`); operators: the SSH certificate authority, host certificates, trust lines');

  const ca = ssh
    .command('ca')
    .option('--host-pattern <pattern>', 'known_hosts host pattern the @cert-authority line covers', '*')
    .option('--only <what>', 'print only `user-ca-keys` (the TrustedUserCAKeys file) or `known-hosts` (the @cert-authority lines)')
    .option('--json', 'print JSON')
    .description('Print the TrustedUserCAKeys file for servers and the @cert-authority known_hosts line for clients (creates the CA on first use)')
    .action(async (options: Common & { hostPattern: string; only?: string }) => {
      if (options.only !== undefined && options.only !== 'user-ca-keys' && options.only !== 'known-hosts') throw new InputError('--only: expected user-ca-keys or known-hosts', 'usage');
      const data = await withCa(cli, async (authority) => ({
        trustedUserCaKeys: authority.trustedUserCaKeys(),
        knownHosts: authority.certAuthorityLines(options.hostPattern),
        cas: authority.trustedCas().map((c) => ({ id: c.id, publicKey: c.publicKeyLine, createdAt: isoTime(c.createdAt), retiresAt: c.retiresAt === undefined ? null : isoTime(c.retiresAt) })),
      }));
      if (options.only === 'user-ca-keys') return void cli.io.stdout.write(data.trustedUserCaKeys);
      if (options.only === 'known-hosts') return void cli.io.stdout.write(data.knownHosts);
      emit(cli, options.json, data, () =>
        [
          '# Servers: save as the file sshd_config names with `TrustedUserCAKeys` (e.g. /etc/ssh/gatehouse_user_ca.pub)',
          data.trustedUserCaKeys.trimEnd(),
          '# Clients: add to ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts',
          data.knownHosts.trimEnd(),
          ...data.cas.filter((c) => c.retiresAt).map((c) => `# CA ${c.id} is trusted until ${c.retiresAt} (rotation overlap); re-render these files after that`),
        ].join('\n'),
      );
    });

  ca.command('rotate')
    .option('--overlap <duration>', 'how long the previous CA stays trusted, e.g. 24h', '24h')
    .option('--json', 'print JSON')
    .description('Create a new CA that signs from now on; the previous one stays trusted during the overlap')
    .action(async (_options: unknown, command: Command) => {
      // The parent `ca` has a --json too, and commander gives it the flag: read both.
      const options = command.optsWithGlobals<Common & { overlap: string }>();
      const overlapMs = options.overlap === '0' ? 0 : parseDuration('--overlap', options.overlap);
      const result = await withCa(cli, async (authority) => ({ ...(await authority.rotate({ overlapMs, actor: 'cli' })), trustedUserCaKeys: authority.trustedUserCaKeys() }));
      emit(cli, options.json, { ...result, retiresAt: isoTime(result.retiresAt) }, () =>
        [
          `new SSH CA ${result.id} signs from now on; ${result.superseded.length ? `previous CA ${result.superseded.join(', ')} trusted until ${isoTime(result.retiresAt)}` : 'no previous CA'}`,
          'Deploy the new TrustedUserCAKeys file and known_hosts lines (`gatehouse ssh ca`) and re-issue host certificates before the overlap ends.',
        ].join('\n'),
      );
    });

  ssh
    .command('host-cert')
    .requiredOption('--host-key <file>', "the server's host public key (e.g. /etc/ssh/ssh_host_ed25519_key.pub)")
    .option('--principal <hostname>', 'a name clients use for the server (repeatable, at least one)', collect, [])
    .option('--out <file>', 'write the certificate here (sshd_config: HostCertificate FILE)')
    .option('--json', 'print JSON')
    .description('Sign a host key: clients that trust the CA accept the server without a first-use prompt')
    .action(async (options: Common & { hostKey: string; principal: string[]; out?: string }) => {
      if (options.principal.length === 0) throw new InputError('give at least one --principal (the host name clients connect to)', 'usage');
      const hostPublicKey = readPublicKeyFile(cli, '--host-key', options.hostKey);
      const issued = await withCa(cli, (authority) => authority.issueHostCertificate({ hostPublicKey, principals: options.principal, actor: 'cli' }));
      printIssued(cli, options, issued);
    });

  ssh
    .command('sign')
    .requiredOption('--user <email>', 'the user the certificate is for (principals from ssh.principals and their groups)')
    .requiredOption('--public-key <file>', "the user's public key")
    .option('--out <file>', 'write the certificate here (e.g. id_ed25519-cert.pub beside the key)')
    .option('--json', 'print JSON')
    .description('Operator tool: issue a user certificate from the CLI, audited as actor cli (the user path comes with `gatehouse login`)')
    .action(async (options: Common & { user: string; publicKey: string; out?: string }) => {
      const publicKey = readPublicKeyFile(cli, '--public-key', options.publicKey);
      const issued = await withCa(cli, async (authority, core) => {
        const user = await core.identity.users.require(options.user);
        if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: `${user.email} is disabled: no certificate is issued.` });
        return authority.issueUserCertificate({ userId: user.id, email: user.email, groups: user.groups, sessionHandle: 'cli', authMethod: 'cli' }, publicKey, 'cli');
      });
      printIssued(cli, options, issued);
    });
  // Last: commander copies a parent's settings (unknown options allowed) into subcommands made after them.
  registerSshConfig(ssh, cli);
  registerSshConnect(ssh, cli);
}
