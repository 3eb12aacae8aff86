import { Resolver } from 'node:dns/promises';

/** A lure's A and AAAA addresses (at most `max`); a name that does not resolve gives none. */
export type ResolveLureAddresses = (domain: string) => Promise<string[]>;

/**
 * Asks `servers` (the gateway's `dns.upstreams`, `ip:port`) when given, else the system resolver. The
 * upstreams come first because this machine may use Gatehouse itself as its resolver, and an escalated
 * lure is blocked there: the answer would be the block page, and its host's abuse desk would be ours.
 * Only DNS is asked: the lure's server is never contacted.
 */
export function createLureResolver(options: { servers?: readonly string[]; timeoutMs?: number; max?: number } = {}): ResolveLureAddresses {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 3000, tries: 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  const max = options.max ?? 4;
  const settle = (promise: Promise<string[]>) => promise.catch(() => [] as string[]);
  return async (domain) => {
    const [v4, v6] = await Promise.all([settle(resolver.resolve4(domain)), settle(resolver.resolve6(domain))]);
    return [...new Set([...v4, ...v6])].slice(0, max);
  };
}
