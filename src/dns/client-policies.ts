/**
 * Maps a client's source address to its policy (first configured network that contains it wins; no
 * match gets the default policy). Uses node:net BlockList for CIDR matching, with a bounded memo
 * because the same few clients send nearly every query.
 */
import net from 'node:net';
import type { CompactDomainSet } from './compact-domain-set.js';

export type PolicyMode = 'filter' | 'passthrough' | 'refuse';

export interface ClientPolicy {
  name: string;
  mode: PolicyMode;
  /** Indices into the blocklist store's sources. */
  blocklists: number[];
  /** Policy-specific allowlist (the global one is checked too). */
  allowlist: CompactDomainSet;
  blockResponse: 'nxdomain' | 'block_page';
  classify: boolean;
}

interface CompiledPolicy {
  policy: ClientPolicy;
  networks: net.BlockList;
}

const MEMO_LIMIT = 4096;

/** `::ffff:192.0.2.1` (IPv4 on a dual-stack socket) is matched as 192.0.2.1. */
function unmapAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export class ClientPolicyTable {
  private readonly compiled: CompiledPolicy[];
  private readonly byName = new Map<string, ClientPolicy>();
  private readonly memo = new Map<string, ClientPolicy>();

  constructor(policies: { policy: ClientPolicy; networks: string[] }[], readonly defaultPolicy: ClientPolicy) {
    this.compiled = policies.map(({ policy, networks }) => {
      const list = new net.BlockList();
      for (const cidr of networks) {
        const [address, bits] = cidr.split('/') as [string, string];
        list.addSubnet(address, Number(bits), net.isIPv6(address) ? 'ipv6' : 'ipv4');
      }
      this.byName.set(policy.name, policy);
      return { policy, networks: list };
    }).filter((_, i) => policies[i]!.networks.length > 0); // a policy without networks is reached only by name (per-user DoH)
    this.byName.set(defaultPolicy.name, defaultPolicy);
  }

  named(name: string): ClientPolicy | undefined {
    return this.byName.get(name);
  }

  forAddress(rawAddress: string): ClientPolicy {
    // No policy lists a network: every client gets the default, with no look-up on the query path.
    if (this.compiled.length === 0) return this.defaultPolicy;
    const memo = this.memo.get(rawAddress);
    if (memo) return memo;
    const address = unmapAddress(rawAddress);
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    let found = this.defaultPolicy;
    if (family) {
      for (const { policy, networks } of this.compiled) {
        if (networks.check(address, family)) {
          found = policy;
          break;
        }
      }
    }
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(rawAddress, found);
    return found;
  }
}
