import { tcpUpstreamOf, type GatehouseConfig, type TcpAppConfig } from '../../config/index.js';
import { GatehouseError } from '../../lib/errors.js';
import { compileNonWebAppPolicy, reasonCode, type AccessIdentity, type NonWebAppPolicy } from '../policy/index.js';

/** What a tunnel looks like to a tcp app's policies' method selector. */
export const TCP_POLICY_METHOD = 'TCP';

/** A tcp app as the tunnel uses it: the upstream from config, never from the client. */
export interface TcpApp {
  name: string;
  host: string;
  port: number;
  idleTimeoutMs: number;
  maxTunnelsPerUser: number;
  connectTimeoutMs: number;
}

/** A refusal whose policy reason code the client may see (the reasons' text is for the audit log). */
export class TunnelRefusal extends GatehouseError {
  constructor(
    code: string,
    status: number,
    options: { publicMessage: string; detail: string; reason?: string },
  ) {
    super(code, { status, publicMessage: options.publicMessage, detail: options.detail });
    this.name = 'TunnelRefusal';
    this.reason = options.reason;
  }
  readonly reason: string | undefined;
}

export interface TcpTunnelPolicy {
  /** The app, or a `tunnel_app_unknown` / `tunnel_policy_denied` / `tunnel_step_up_required` refusal. */
  admit(appName: string, identity: AccessIdentity, ip: string, now: number): { app: TcpApp; policy: string | null };
  /** Whether an open tunnel is still allowed (after a reload or an IP block): the same decision again. */
  stillAllowed(appName: string, identity: AccessIdentity, ip: string, now: number): boolean;
}

/** The tcp apps' policies, decided by the proxy's own engine (`compileNonWebAppPolicy`). */
export function compileTcpTunnelPolicy(config: GatehouseConfig, isIpBlocked: ((ip: string) => boolean) | undefined): TcpTunnelPolicy {
  const apps = new Map<string, TcpApp>(config.tcp.apps.map((app: TcpAppConfig) => [app.name, tcpAppOf(app)]));
  const engine: NonWebAppPolicy = compileNonWebAppPolicy('tcp', config.tcp.apps, { access: config.access, ...(isIpBlocked ? { isIpBlocked } : {}) });
  const decide = (appName: string, identity: AccessIdentity, ip: string, now: number) => engine.decide(appName, identity, ip, now);
  return {
    admit(appName, identity, ip, now) {
      const app = apps.get(appName);
      if (!app) throw new TunnelRefusal('tunnel_app_unknown', 404, { publicMessage: 'There is no TCP app by that name.', detail: `no tcp app ${JSON.stringify(appName.slice(0, 64))}` });
      const decision = decide(appName, identity, ip, now);
      const detail = decision.reasons.join('; ');
      if (decision.outcome === 'step_up') throw new TunnelRefusal('tunnel_step_up_required', 403, { publicMessage: 'This TCP app needs a recent touch of your security key.', detail, reason: 'step_up_required' });
      // `bypass` is refused by the config schema for tcp apps; only a matched allow opens.
      if (decision.outcome !== 'allow') {
        throw new TunnelRefusal('tunnel_policy_denied', 403, { publicMessage: 'The access policy of this TCP app does not let you in.', detail, reason: reasonCode(decision.reasons[0] ?? '') ?? 'denied' });
      }
      return { app, policy: decision.policy ?? null };
    },
    stillAllowed: (appName, identity, ip, now) => apps.has(appName) && decide(appName, identity, ip, now).outcome === 'allow',
  };
}

function tcpAppOf(app: TcpAppConfig): TcpApp {
  const { host, port } = tcpUpstreamOf(app.upstream);
  return { name: app.name, host, port, idleTimeoutMs: app.idle_timeout_seconds * 1000, maxTunnelsPerUser: app.max_tunnels_per_user, connectTimeoutMs: app.connect_timeout_ms };
}
