import { compileNonWebAppPolicy, identityOfSession, reasonCode, type NonWebAppPolicy } from '../access/policy/index.js';
import type { AuditLog } from '../audit/index.js';
import type { GatehouseConfig } from '../config/index.js';
import type { SessionView } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { SshCertificateAuthority } from './create-ssh-certificate-authority.js';
import type { IssuedSshCertificate } from './ssh-certificate.js';

/** What a certificate request looks like to an ssh app's policies' method selector. */
export const SSH_POLICY_METHOD = 'SSH';

export interface SshCertificateRequest {
  /** The live browser session behind the command line's credential (already validated). */
  session: SessionView;
  app: string;
  publicKey: string;
  /** The client address as the portal determined it (trusted proxies applied). */
  ip: string;
}

export interface SshCertificateGate {
  /**
   * Decides the `ssh` app's policies for the session exactly as the proxy decides a web app's (global
   * IP blocks, runtime blocks, then the app's ordered policies), then issues. Refusals:
   * `ssh_app_unknown`, `ssh_policy_denied` and `ssh_step_up_required` (their `reason` is the decision's
   * first reason code; the full reasons go to the audit log), and the CA's own (`ssh_no_principal`…).
   */
  issue(request: SshCertificateRequest): Promise<IssuedSshCertificate>;
  /** The groups `ssh.principals` maps to logins (for a refusal that tells the person what is missing). */
  mappedGroups(): readonly string[];
  /** The known_hosts `@cert-authority` lines for `hostPattern` (public keys only), for `gatehouse ssh config`. */
  certAuthorityLines(hostPattern: string): Promise<string>;
  /** Compiles the new config's ssh apps aside and swaps them in; throws (and changes nothing) if it cannot. */
  reload(config: GatehouseConfig): void;
}

/** A refusal whose policy reason code the client may see (never the reasons' text: that is for the audit log). */
export class SshPolicyRefusal extends GatehouseError {
  constructor(
    code: string,
    readonly reason: string,
    options: { publicMessage: string; detail: string },
  ) {
    super(code, { status: 403, ...options });
    this.name = 'SshPolicyRefusal';
  }
}

function compile(config: GatehouseConfig, isIpBlocked: ((ip: string) => boolean) | undefined): NonWebAppPolicy {
  return compileNonWebAppPolicy('ssh', config.ssh.apps, { access: config.access, ...(isIpBlocked ? { isIpBlocked } : {}) });
}

export function createSshCertificateGate(options: { ca: SshCertificateAuthority; audit: AuditLog; clock: Clock; config: GatehouseConfig; isIpBlocked?: (ip: string) => boolean }): SshCertificateGate {
  const { ca, audit, clock, isIpBlocked } = options;
  let engine = compile(options.config, isIpBlocked);
  let mapped: readonly string[] = options.config.ssh.principals.map((p) => p.group);
  // The CA is read (and its first generation created) on the first request, not at start: a server
  // that never issues needs no CA row, and a failed open is retried by the next request.
  let opened: Promise<void> | undefined;
  const openCa = async () => {
    opened ??= ca.open('system');
    try {
      await opened;
    } catch (error) {
      opened = undefined;
      throw error;
    }
  };

  const refuse = async (request: SshCertificateRequest, error: SshPolicyRefusal, extra: Record<string, unknown>) => {
    await audit.record({
      type: 'ssh.certificate_refused',
      outcome: 'failure',
      code: error.code,
      actor: `user:${request.session.userId}`,
      userId: request.session.userId,
      ip: request.ip,
      detail: { user: request.session.email, app: request.app.slice(0, 64), reason: error.reason, ...extra },
    });
    throw error;
  };

  return {
    async issue(request) {
      const { session } = request;
      if (!engine.has(request.app)) {
        return refuse(request, new SshPolicyRefusal('ssh_app_unknown', 'app_unknown', { publicMessage: 'There is no SSH app by that name.', detail: `no ssh app ${JSON.stringify(request.app.slice(0, 64))}` }), {});
      }
      const decision = engine.decide(request.app, identityOfSession(session), request.ip, clock.now());
      const reason = reasonCode(decision.reasons[0] ?? '') ?? 'denied';
      const facts = { policy: decision.policy ?? null, reasons: decision.reasons, amr: session.amr };
      if (decision.outcome === 'step_up') {
        return refuse(request, new SshPolicyRefusal('ssh_step_up_required', 'step_up_required', { publicMessage: 'This SSH app needs a recent touch of your security key.', detail: decision.reasons.join('; ') }), facts);
      }
      // `bypass` is refused by the config schema for ssh apps; only a matched allow issues.
      if (decision.outcome !== 'allow') {
        return refuse(request, new SshPolicyRefusal('ssh_policy_denied', reason, { publicMessage: 'The access policy of this SSH app does not let you in.', detail: decision.reasons.join('; ') }), facts);
      }
      await openCa();
      return ca.issueUserCertificate(
        {
          userId: session.userId,
          email: session.email,
          groups: session.groups,
          // The handle, never the id: the id is a bearer secret and the key id lands in every server's log.
          sessionHandle: session.idHash.slice(0, 16),
          authMethod: session.amr.join('+'),
          ip: request.ip,
        },
        request.publicKey,
      );
    },
    mappedGroups: () => mapped,
    async certAuthorityLines(hostPattern) {
      await openCa();
      return ca.certAuthorityLines(hostPattern);
    },
    reload(config) {
      const next = compile(config, isIpBlocked);
      engine = next;
      mapped = config.ssh.principals.map((p) => p.group);
    },
  };
}
