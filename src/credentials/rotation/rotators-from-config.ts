import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { RotatorConfig, RotatorsConfig } from '../../config/index.js';
import { GatehouseError } from '../../lib/errors.js';
import { cryptoRandom, type Random } from '../../lib/random.js';
import { createSshAuthorizedKeysChannel } from './authorized-keys-channel.js';
import { createExecRotator } from './exec-rotator.js';
import { createPostgresRoleRotator } from './postgres-role-rotator.js';
import { rotationSinkFromConfig, secretDirectoriesOf, type RotationSink } from './rotation-sink.js';
import type { RotationContext, Rotator } from './rotator.js';
import { createSshAuthorizedKeyRotator } from './ssh-authorized-key-rotator.js';

export interface RotatorsFromConfigOptions {
  /** The validated `rotators:` section. */
  rotators: RotatorsConfig;
  /** The config file's folder: relative paths in the section are relative to it. */
  baseDir: string;
  random?: Random;
}

/** A configured rotator that cannot be built (an unreadable password file): names the config path, never a value. */
function rotatorConfigError(path: string, what: string): GatehouseError {
  return new GatehouseError('rotator_config_invalid', { status: 500, publicMessage: 'A configured rotator could not be set up.', detail: `${path}: ${what}` });
}

async function readSecretFile(path: string, configPath: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw rotatorConfigError(configPath, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '' || secret.includes('\n')) throw rotatorConfigError(configPath, `${path} must hold one line: the password`);
  return secret;
}

/**
 * A rotator bound to its own sink: the secret goes where the service that uses this credential reads
 * it, and the old secret for the probe comes from the same place. The campaign's context supplies the
 * clock; its sink (the CLI's `--deliver-dir`) is for Gatehouse's own tokens and is not used here, since
 * a secret delivered anywhere else would leave the service holding a credential that no longer works.
 */
function withSink(name: string, inner: Rotator, sink: RotationSink | undefined): Rotator {
  const contextOf = (context: RotationContext): RotationContext =>
    sink ? { now: () => context.now(), deliverSecret: sink.deliver, previousSecret: sink.previous, ...(sink.staging ? { staging: sink.staging } : {}) } : context;
  return {
    name,
    validate: (target) => inner.validate(target),
    rotate: (target, context) => inner.rotate(target, contextOf(context)),
    revoke: (target, context) => inner.revoke(target, contextOf(context)),
  };
}

async function buildOne(name: string, config: RotatorConfig, baseDir: string, random: Random): Promise<Rotator> {
  const path = (file: string) => (isAbsolute(file) ? file : resolve(baseDir, file));
  const at = `rotators.${name}`;
  switch (config.type) {
    case 'postgres-role': {
      const password = config.admin_password ?? (config.admin_password_file === undefined ? undefined : await readSecretFile(path(config.admin_password_file), `${at}.admin_password_file`));
      const adminUrl = new URL(config.admin_url);
      // As a query parameter: node-postgres decodes it exactly, whatever characters the password holds.
      if (password !== undefined) adminUrl.searchParams.set('password', password);
      const rotator = createPostgresRoleRotator({
        adminUrl: adminUrl.href,
        ...(config.probe_url === undefined ? {} : { probeUrl: config.probe_url }),
        random,
        connectTimeoutMs: config.connect_timeout_ms,
        terminateSessionsOnRotate: config.terminate_sessions,
      });
      return withSink(name, rotator, rotationSinkFromConfig(config.sink, baseDir));
    }
    case 'ssh-authorized-key': {
      const knownHostsFile = path(config.known_hosts_file);
      const sshBinary = path(config.ssh_binary);
      const channel = createSshAuthorizedKeysChannel({
        sshBinary,
        knownHostsFile,
        identityFile: path(config.identity_file),
        authorizedKeysPath: config.authorized_keys_path,
        timeoutMs: config.timeout_ms,
      });
      const rotator = createSshAuthorizedKeyRotator({ channel, knownHostsFile, sshBinary, random, timeoutMs: config.timeout_ms });
      return withSink(name, rotator, rotationSinkFromConfig(config.sink, baseDir));
    }
    case 'exec': {
      const commands = Object.fromEntries(Object.entries(config.commands).map(([command, { argv, timeout_ms }]) => [command, { argv, timeoutMs: timeout_ms }]));
      // The command delivers the secret itself; it has no sink of ours.
      return withSink(name, createExecRotator({ commands }), undefined);
    }
  }
}

/**
 * The rotators a campaign can use, by the name an inventory item gives in its `rotator` column, built
 * from the `rotators:` config section. Nothing connects here: password files are read, and each
 * rotator opens its connections when it rotates.
 */
export async function rotatorsFromConfig(options: RotatorsFromConfigOptions): Promise<Map<string, Rotator>> {
  const { rotators, baseDir, random = cryptoRandom } = options;
  const built = new Map<string, Rotator>();
  for (const [name, config] of Object.entries(rotators)) built.set(name, await buildOne(name, config, baseDir, random));
  return built;
}

/** Every folder the configured rotators' sinks write secret files into, once each. */
export function secretDirectoriesOfRotators(rotators: RotatorsConfig, baseDir: string): string[] {
  const dirs = Object.values(rotators).flatMap((config) => ('sink' in config ? secretDirectoriesOf(config.sink, baseDir) : []));
  return [...new Set(dirs)];
}
