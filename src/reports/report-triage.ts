import type { ExtractedIndicator } from './extract-indicators.js';

/** The parts of the gateway's domain verdict triage reads (src/intel `DomainVerdict`). */
export interface VerdictSource {
  classify(name: string): Promise<{
    action: 'allow' | 'warn' | 'block';
    age: { state: string };
    ageDays?: number;
    lookalike?: { score: number; brand?: string };
    humanReason: string;
  }>;
}

export interface TriagedIndicator extends ExtractedIndicator {
  action: 'allow' | 'warn' | 'block';
  lookalike: boolean;
  brand?: string;
  young: boolean;
  ageDays?: number;
  alreadyBlocked: boolean;
  /** Own, protected or listed in `reports.never_block`: a report never blocks it. */
  neverBlock: boolean;
  reason: string;
}

/** True when `name` is `domain` or one of its subdomains. */
export function isUnder(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * Each indicator with the gateway's verdict (lookalike, registration age) and whether it is already
 * blocked or may never be blocked by a report. A verdict that fails counts as unknown, never as
 * harmless or as malicious: the report stays for a responder.
 */
export async function triageIndicators(
  indicators: readonly ExtractedIndicator[],
  deps: { verdicts: VerdictSource; blocked: readonly string[]; neverBlock: readonly string[] },
): Promise<TriagedIndicator[]> {
  const out: TriagedIndicator[] = [];
  for (const item of indicators) {
    const alreadyBlocked = deps.blocked.some((b) => isUnder(item.domain, b));
    const neverBlock = deps.neverBlock.some((d) => isUnder(item.domain, d));
    try {
      const verdict = await deps.verdicts.classify(item.domain);
      out.push({
        ...item,
        action: verdict.action,
        lookalike: verdict.lookalike !== undefined && verdict.lookalike.score > 0,
        ...(verdict.lookalike?.brand ? { brand: verdict.lookalike.brand } : {}),
        young: verdict.age.state === 'young',
        ...(verdict.ageDays !== undefined ? { ageDays: verdict.ageDays } : {}),
        alreadyBlocked,
        neverBlock,
        reason: verdict.humanReason,
      });
    } catch {
      out.push({ ...item, action: 'allow', lookalike: false, young: false, alreadyBlocked, neverBlock, reason: 'no verdict (look-up failed)' });
    }
  }
  return out;
}

/** Suspicious: anything the gateway warns about or blocks, a lookalike, a young domain or a shortener. */
export function isSuspicious(item: TriagedIndicator): boolean {
  return !item.neverBlock && (item.action !== 'allow' || item.lookalike || item.young || item.shortened || item.alreadyBlocked);
}

/** The lure a report is about: its most suspicious blockable registrable domain, if any. */
export function lureDomainOf(items: readonly TriagedIndicator[]): TriagedIndicator | undefined {
  const score = (i: TriagedIndicator) => (i.lookalike && i.young ? 4 : 0) + (i.action === 'block' ? 2 : i.action === 'warn' ? 1 : 0) + (i.lookalike ? 1 : 0) + (i.young ? 1 : 0);
  // A shortener's own domain is never the lure: blocking bit.ly blocks every harmless short link.
  const candidates = items.filter((i) => !i.neverBlock && !i.shortened);
  return [...candidates].sort((a, b) => score(b) - score(a))[0];
}
