import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './cli-context.js';
import { ConfigError, loadConfigFile } from '../config/index.js';
import { writeDemo } from './demo-config.js';
import { startBannerLines } from './start-banner.js';
import { emit } from './output.js';
import { configPathOf, loadSnapshot } from './open-config.js';
import type { RunningGatehouse } from '../main.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`expected a port 1-65535, got "${value}"`);
  return port;
}

/**
 * The first administrator: while no admin has a key, every start prints a fresh one-time link for them
 * (the invite revokes the previous link). Returns their email either way, for the start banner.
 */
async function firstAdmin({ core, incidents }: Pick<RunningGatehouse, 'core' | 'incidents'>): Promise<{ email: string | undefined; link: string | undefined }> {
  const adminGroup = core.snapshot().config.identity.admin_groups[0] ?? 'admins';
  const admins = await core.identity.users.list({ group: adminGroup });
  for (const admin of admins) if ((await core.identity.credentials.countForUser(admin.id)) > 0) return { email: admin.email, link: undefined };
  const email = admins[0]?.email ?? `admin@${core.snapshot().config.webauthn.rp_id}`;
  const existing = admins[0] ?? (await core.identity.users.findByEmail(email));
  if (existing) await core.identity.ctx.invites.revokeForUser(existing.id);
  // A new membership only when the admin group is empty: that one addition is Gatehouse's own.
  if (admins.length === 0) incidents.expectFirstStartAdmin(email, adminGroup);
  const invite = await core.identity.invite({ email, name: 'Administrator', groups: [adminGroup], actor: 'system:first-start' });
  return { email, link: invite.url };
}

/**
 * The keys a reload cannot apply. No running server is asked (there is no channel to one): they are
 * listed instead, and a running server names each changed one in its reload log line. Loaded on use:
 * the lists live with the capabilities that read the keys.
 */
async function restartOnlyKeys(): Promise<{ path: string; reason: string }[]> {
  const { RESTART_ONLY_KEYS } = await import('../restart-only-keys.js');
  return RESTART_ONLY_KEYS.map(({ path, reason }) => ({ path, reason }));
}

export function registerServerCommands(program: Command, cli: CliContext): void {
  program
    .command('init')
    .option('--dir <dir>', 'folder for gatehouse.yaml and data/', '.')
    .option('--host <domain>', 'demo domain (the portal is sso.<domain>)', 'gatehouse.localhost')
    .option('--port <port>', 'listener port', parsePort, 8080)
    .option('--self-signed', 'listen with HTTPS using a new self-signed certificate')
    .option('--force', 'overwrite an existing gatehouse.yaml')
    .option('--json', 'print JSON')
    .description('Write a demo configuration and the data folder')
    .action(async (options: { dir: string; host: string; port: number; selfSigned?: boolean; force?: boolean; json?: boolean }) => {
      const result = await writeDemo({ dir: resolve(cli.io.cwd, options.dir), host: options.host, port: options.port, selfSigned: Boolean(options.selfSigned), force: Boolean(options.force) });
      const data = { configPath: result.configPath, configWritten: result.created, keyPath: result.keyPath ?? null, keyWritten: result.keyPath ? Boolean(result.keyCreated) : false };
      emit(cli, options.json, data, () =>
        [
          result.created ? `wrote ${result.configPath}` : `${result.configPath} exists; kept it (use --force to overwrite)`,
          ...(result.keyPath
            ? [`${result.keyCreated ? 'wrote' : 'kept'} key-encryption key ${result.keyPath} (mode 0600): back it up apart from the database; without it the signing keys and TOTP enrolments are lost`]
            : []),
        ].join('\n'),
      );
    });

  program
    .command('serve')
    .option('--demo', 'write a demo configuration first if none exists (npm start)')
    .description('Run Gatehouse: portal, access proxy, DNS gateway')
    .action(async (options: { demo?: boolean }) => {
      const path = configPathOf(cli);
      if (options.demo) await writeDemo({ dir: resolve(path, '..'), host: 'gatehouse.localhost', port: 8080, selfSigned: false, force: false });
      const { startGatehouse } = await import('../main.js');
      const running = await startGatehouse({ snapshot: loadSnapshot(cli, path), watch: true });
      const admin = await firstAdmin(running);
      const { server, dns } = running.core.snapshot().config;
      const lines = startBannerLines({
        portalUrl: running.portalUrl,
        database: running.core.store.description,
        configPath: path,
        adminEmail: admin.email,
        firstAdminLink: admin.link,
        appDomain: server.portal_host.split('.').slice(1).join('.') || server.portal_host,
        portSuffix: /:\d+$/.exec(running.portalUrl)?.[0] ?? '',
        dnsEnabled: dns.enabled,
        dohPath: dns.doh_path,
      });
      cli.io.stderr.write(`${lines.join('\n')}\n`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        cli.io.stderr.write(`${signal}: shutting down\n`);
        await running.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });

  const config = program.command('config').description('Configuration');
  config
    .command('check')
    .argument('[file]', 'config file (default: --config or ./gatehouse.yaml)')
    .option('--json', 'print JSON')
    .description('Validate a configuration file; names every problem with its path')
    .action(async (file: string | undefined, options: { json?: boolean }) => {
      const path = configPathOf(cli, file);
      let snapshot;
      try {
        snapshot = loadConfigFile(path);
      } catch (error) {
        if (!(error instanceof ConfigError) || !options.json) throw error;
        // Scripts get the same answer as JSON: every problem with its path, and exit 2 as for text.
        emit(cli, true, { valid: false, path: error.path, issues: error.issues, warnings: [], restartOnly: await restartOnlyKeys() }, () => '');
        cli.setExitCode(2);
        return;
      }
      const restartOnly = await restartOnlyKeys();
      // Valid, yet `serve` refuses to start without a key-encryption key (kek_not_configured): said here,
      // before anyone starts it. Other commands run without one, so it is a warning, not an issue.
      const { server } = snapshot.config;
      const warnings =
        server.key_encryption_key_file === undefined && server.key_encryption_key === undefined
          ? ['no key-encryption key (server.key_encryption_key_file or server.key_encryption_key): `gatehouse serve` refuses to start without one; create it with `gatehouse secrets init-kek --file PATH`']
          : [];
      emit(cli, options.json, { valid: true, path: snapshot.path, issues: [], warnings, restartOnly }, () =>
        [
          `${snapshot.path}: valid`,
          ...warnings.map((warning) => `warning: ${warning}`),
          'Applied by a running server on reload (file change or SIGHUP), except these, which take effect after a restart:',
          ...restartOnly.map(({ path, reason }) => `  ${path}: ${reason}`),
        ].join('\n'),
      );
    });
}
