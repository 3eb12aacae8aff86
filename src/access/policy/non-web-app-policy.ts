import type { AppConfig } from '../../config/index.js';
import type { SessionView } from '../../identity/index.js';
import { compilePolicyEngine, type PolicyEngineOptions } from './compile-policy-engine.js';
import type { AccessIdentity, Decision } from './decision.js';

/** What a policy sees of a signed-in person: the same for a web request, an SSH certificate and a tunnel. */
export function identityOfSession(session: SessionView): AccessIdentity {
  return {
    userId: session.userId,
    email: session.email,
    groups: session.groups,
    amr: session.amr,
    ...(session.phishingResistantAt !== undefined ? { phishingResistantAt: session.phishingResistantAt } : {}),
  };
}

/** The apps reached without a web request: `ssh.apps` (certificates) and `tcp.apps` (tunnels). */
export type NonWebAppKind = 'ssh' | 'tcp';

export interface NonWebAppPolicy {
  has(app: string): boolean;
  /** The proxy engine's decision for `app` (method `SSH` or `TCP`, path `/`). */
  decide(app: string, identity: AccessIdentity, ip: string, now: number): Decision;
}

/**
 * Compiles non-web apps' policies with the proxy's own engine, so global IP blocks, run-time blocks,
 * `auth_method`, `auth_age`, groups, address and time rules mean exactly what they mean for a web app.
 * The engine routes web apps by host; these have none, so each gets a host under `.invalid` (RFC 6761
 * §6.4), which no request can carry, and this engine is never consulted by host. Policies see method
 * `SSH` or `TCP` and path `/`.
 */
export function compileNonWebAppPolicy(
  kind: NonWebAppKind,
  apps: readonly Pick<AppConfig, 'name' | 'policies'>[],
  options: Pick<PolicyEngineOptions, 'access' | 'isIpBlocked'>,
): NonWebAppPolicy {
  const engine = compilePolicyEngine({
    apps: nonWebEngineApps(kind, apps),
    access: options.access,
    ...(options.isIpBlocked ? { isIpBlocked: options.isIpBlocked } : {}),
  });
  const method = nonWebMethod(kind);
  return {
    has: (app) => engine.app(app) !== undefined,
    decide: (app, identity, ip, now) => engine.decide(app, { ip, method, path: '/', now, identity }),
  };
}

/** Non-web apps as the engine's apps: a host under `.invalid` that no request can carry. */
export function nonWebEngineApps(kind: NonWebAppKind, apps: readonly Pick<AppConfig, 'name' | 'policies'>[]): PolicyEngineOptions['apps'] {
  return apps.map((app) => ({ name: app.name, host: `${app.name}.${kind}.invalid`, upstream: `http://${kind}.invalid`, policies: app.policies }));
}

/** The method a non-web app's policies see (`SSH` or `TCP`); their path is always `/`. */
export function nonWebMethod(kind: NonWebAppKind): string {
  return kind.toUpperCase();
}
