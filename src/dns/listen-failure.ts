import { GatehouseError } from '../lib/errors.js';

const HINTS: Record<string, string> = {
  EADDRINUSE: 'another process already uses it (a local resolver such as systemd-resolved or dnsmasq, or a second Gatehouse); stop it, or set dns.listen.port or dns.listen.address',
  EACCES: 'ports below 1024 need privilege: grant CAP_NET_BIND_SERVICE, or set dns.listen.port to a higher port',
  EADDRNOTAVAIL: 'no network interface of this host has that address: set dns.listen.address to one it has',
};

/**
 * A bind failure of the DNS listeners as an operator can act on it: the setting (`dns.listen`), the
 * address and protocol, and what to change, instead of Node's bare `bind EADDRINUSE`. Status 500: the
 * command failed (exit 1), the config itself is valid.
 */
export function listenFailure(error: unknown, where: { address: string; port: number; protocol: 'UDP' | 'TCP' }): GatehouseError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  const host = where.address.includes(':') ? `[${where.address}]` : where.address;
  const hint = HINTS[code] ?? 'see the cause after the message';
  return new GatehouseError('dns_listen_failed', {
    status: 500,
    publicMessage: `dns.listen: cannot listen on ${host}:${where.port} (${where.protocol}): ${hint}`,
    detail: code,
    cause: error,
  });
}
