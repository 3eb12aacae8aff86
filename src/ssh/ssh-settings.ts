import type { SshConfig } from '../config/index.js';

/** The `ssh:` section as the capability uses it: milliseconds, and the option names of PROTOCOL.certkeys. */
export interface SshSettings {
  userCertValidityMs: number;
  clockSkewMs: number;
  /** Group → logins. */
  principals: ReadonlyMap<string, readonly string[]>;
  criticalOptions: ReadonlyArray<readonly [string, string]>;
  extensions: readonly string[];
  hostCertValidityMs: number;
  maxCaOverlapMs: number;
}

export function sshSettingsOf(config: SshConfig): SshSettings {
  const critical: Array<readonly [string, string]> = [];
  if (config.critical_options.force_command !== undefined) critical.push(['force-command', config.critical_options.force_command]);
  // PROTOCOL.certkeys: source-address is a comma-separated list of CIDR ranges.
  if (config.critical_options.source_address.length > 0) critical.push(['source-address', config.critical_options.source_address.join(',')]);
  const flags: Record<string, boolean> = {
    'permit-X11-forwarding': config.extensions.permit_x11_forwarding,
    'permit-agent-forwarding': config.extensions.permit_agent_forwarding,
    'permit-port-forwarding': config.extensions.permit_port_forwarding,
    'permit-pty': config.extensions.permit_pty,
    'permit-user-rc': config.extensions.permit_user_rc,
  };
  return Object.freeze({
    userCertValidityMs: config.user_cert_validity_minutes * 60_000,
    clockSkewMs: config.clock_skew_seconds * 1000,
    principals: new Map(config.principals.map((mapping) => [mapping.group, Object.freeze([...mapping.logins])])),
    criticalOptions: Object.freeze(critical),
    extensions: Object.freeze(Object.keys(flags).filter((name) => flags[name])),
    hostCertValidityMs: config.host_cert_validity_days * 86_400_000,
    maxCaOverlapMs: config.max_ca_overlap_hours * 3_600_000,
  });
}

/** The logins of every group the user is in, sorted and without duplicates. */
export function loginsForGroups(settings: SshSettings, groups: readonly string[]): string[] {
  const logins = new Set<string>();
  for (const group of groups) for (const login of settings.principals.get(group) ?? []) logins.add(login);
  return [...logins].sort();
}
