/**
 * Maps a client's source address to its policy (first configured network that contains it wins; no
 * match gets the default policy). Networks are compiled CIDR sets read leniently (node:net
 * BlockList's reading, which these networks have always had), with a bounded memo because the same
 * few clients send nearly every query.
 */
import { type CidrSet, compileCidrSet } from '../lib/ip/cidr-set.js';
import { newIpScratch, parseIpInto } from '../lib/ip/ip-address.js';
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
  networks: CidrSet;
}

const MEMO_LIMIT = 4096;

export class ClientPolicyTable {
  private readonly compiled: CompiledPolicy[];
  private readonly byName = new Map<string, ClientPolicy>();
  private readonly memo = new Map<string, ClientPolicy>();
  private readonly scratch = newIpScratch();

  constructor(policies: { policy: ClientPolicy; networks: string[] }[], readonly defaultPolicy: ClientPolicy) {
    this.compiled = policies.map(({ policy, networks }) => {
      this.byName.set(policy.name, policy);
      return { policy, networks: compileCidrSet(networks, { lenient: true }) };
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
    // `::ffff:192.0.2.1` (IPv4 on a dual-stack socket) parses as 192.0.2.1.
    const ip = this.scratch;
    let found = this.defaultPolicy;
    if (parseIpInto(rawAddress, ip)) {
      for (const { policy, networks } of this.compiled) {
        if (networks.has(ip)) {
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
