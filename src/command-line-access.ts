import type { Logger } from 'pino';
import type { AccessLayer } from './access/index.js';
import { createTcpTunnels, type TcpTunnels } from './access/tunnel/index.js';
import type { GatehouseConfig } from './config/index.js';
import type { GatehouseCore } from './core.js';
import { CliLogin } from './identity/index.js';
import type { Clock } from './lib/clock.js';
import type { Random } from './lib/random.js';
import { createSshCertificateAuthority, createSshCertificateGate, sshSettingsOf, type SshCertificateGate } from './ssh/index.js';

/**
 * The command line's way in, wired in one place: `gatehouse login` credentials (children of browser
 * sessions), SSH certificates through the `ssh` apps' policies and TCP tunnels through the `tcp` apps',
 * all behind the same credential. One reload and one close for the three, so `main.ts` wires it as one
 * capability.
 */
export interface CommandLineAccess {
  login: CliLogin;
  ssh: SshCertificateGate;
  tunnels: TcpTunnels;
  /** Applies a validated config: ssh and tcp apps' policies, the CA's settings, credential lifetimes. */
  reload(config: GatehouseConfig): void;
  close(): void;
}

const credentialSettingsOf = (config: GatehouseConfig) => ({ credentialMaxMs: config.sessions.cli_credential_hours * 3_600_000 });

export function buildCommandLineAccess(deps: {
  core: Pick<GatehouseCore, 'store' | 'identity' | 'audit' | 'secrets'>;
  access: Pick<AccessLayer, 'ipBlocks' | 'trustedProxies'>;
  config: GatehouseConfig;
  clock: Clock;
  random: Random;
  logger: Logger;
}): CommandLineAccess {
  const { core, access, config, clock, random, logger } = deps;
  const login = new CliLogin(core.store, core.identity.sessions, clock, random, core.audit, credentialSettingsOf(config));
  const ca = createSshCertificateAuthority({ db: core.store.db, sealer: core.secrets, clock, random, audit: core.audit, settings: sshSettingsOf(config.ssh) });
  const ssh = createSshCertificateGate({ ca, audit: core.audit, clock, config, isIpBlocked: access.ipBlocks.isBlocked });
  const tunnels = createTcpTunnels({
    config,
    audit: core.audit,
    clock,
    logger,
    validateCredential: (raw, ip) => login.validateCredential(raw, ip),
    isIpBlocked: access.ipBlocks.isBlocked,
    trustedProxies: () => access.trustedProxies(),
  });
  // A new runtime IP block re-decides every open tunnel.
  const stopWatchingBlocks = access.ipBlocks.onLoaded(() => tunnels.redecide());
  return {
    login,
    ssh,
    tunnels,
    reload(next) {
      ssh.reload(next);
      tunnels.reload(next);
      ca.reload(sshSettingsOf(next.ssh));
      login.setSettings(credentialSettingsOf(next));
    },
    close() {
      stopWatchingBlocks();
      tunnels.close();
    },
  };
}
