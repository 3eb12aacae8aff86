import type { BlocklistStore } from './blocklist-store.js';
import type { ClientPolicy } from './client-policies.js';
import type { DomainHasher } from './domain-hash.js';
import { normaliseDomainName } from './domain-name.js';
import { publicBlockText } from './public-block-text.js';
import type { Verdict } from './verdict.js';

/**
 * The verdict hook's answer from what is already known (lexical checks, ages in memory); never starts
 * a lookup nor records the name.
 */
export type KnownVerdictHook = (name: string) => Verdict | undefined;

export interface NameExplanation {
  name: string;
  action: 'allow' | 'warn' | 'block';
  /** `dynamic`, `allowlist`, `blocklist:<name>`, `classify:<code>` or `` (nothing matched). */
  kind: string;
  /** Plain words for a person, e.g. "looks like acme.com; registered 37 minutes ago". */
  humanReason: string;
}

const MAX_LABELS = 128;

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * The decision the resolver made for a name, without a packet: the block page uses it to tell a person
 * which name was blocked and why. Same order as the query path: dynamic blocks, allowlist,
 * the policy's lists, then the verdict hook, but only what that hook already knows: anyone can send
 * any Host header, and a browser reaches the block page only after our resolver judged the name, so a
 * lookup started here would serve no one but a flood that spends the registries' rate limits.
 */
export async function explainName(
  raw: string,
  deps: { store: BlocklistStore; hasher: DomainHasher; policy: ClientPolicy; classifyKnown: KnownVerdictHook | undefined },
): Promise<NameExplanation> {
  const name = normaliseDomainName(raw);
  const bytes = Buffer.from(name, 'latin1');
  const suffixes = new Uint32Array(2 * MAX_LABELS);
  const count = deps.hasher.hashSuffixes(bytes, bytes.length, suffixes);
  const { store, policy } = deps;
  if (store.dynamicSet.match(suffixes, count) >= 0) {
    // Anyone can ask for the block page with any Host header: no incident title nor operator note here.
    return { name, action: 'block', kind: 'dynamic', humanReason: lowerFirst(publicBlockText(store.dynamicBlockFor(name)?.reason)) };
  }
  if (store.allowlist.match(suffixes, count) >= 0 || policy.allowlist.match(suffixes, count) >= 0) {
    return { name, action: 'allow', kind: 'allowlist', humanReason: 'on the allowlist' };
  }
  for (const index of policy.blocklists) {
    if (store.sets[index]!.match(suffixes, count) >= 0) {
      const source = store.sources[index]!;
      return { name, action: 'block', kind: `blocklist:${source.name}`, humanReason: `listed as dangerous (${source.name})` };
    }
  }
  const verdict = policy.classify ? deps.classifyKnown?.(name) : undefined;
  if (!verdict) return { name, action: 'allow', kind: '', humanReason: 'not on any list' };
  const code = verdict.reasons?.[0]?.code ?? '';
  return { name, action: verdict.action, kind: code ? `classify:${code}` : '', humanReason: verdict.humanReason ?? (verdict.action === 'allow' ? 'not on any list' : 'blocked by policy') };
}
