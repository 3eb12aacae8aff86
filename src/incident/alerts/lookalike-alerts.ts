import { getDomain } from 'tldts';
import type { Clock } from '../../lib/clock.js';

/** What the DNS gateway's query hook hands over; structural, so the gateway's verdict fits as is. */
export interface LookalikeQuery {
  name: string;
  /** Client address, or the DNS gateway's client context (address and per-user DoH user). */
  client: string | { address: string; user?: string | undefined };
  /** User the query is attributed to (per-user DoH), if any. */
  user?: string | undefined;
  verdict: {
    action: string;
    lookalike?: { score: number; brand?: string | undefined; reasons?: readonly { code: string; detail?: string }[] } | undefined;
    reasons?: readonly { code: string; detail?: string }[];
    humanReason?: string;
  };
}

export interface LookalikeFinding {
  /** The registrable domain (what an incident blocks: its subdomains go with it). */
  domain: string;
  name: string;
  brand: string | undefined;
  score: number | undefined;
  client: string;
  user: string | undefined;
  action: string;
}

/** The name is flagged for a protected brand when the verdict carries a lookalike finding. */
export function lookalikeFinding(query: LookalikeQuery): LookalikeFinding | undefined {
  const lookalike = query.verdict?.lookalike;
  const flagged = lookalike !== undefined || (query.verdict?.reasons ?? []).some((r) => r.code === 'lookalike');
  if (!flagged || typeof query.name !== 'string') return undefined;
  const name = query.name.toLowerCase().replace(/\.$/, '').slice(0, 253);
  const client = typeof query.client === 'object' && query.client !== null ? query.client : { address: String(query.client ?? '') };
  const user = query.user ?? (client as { user?: string }).user;
  return {
    domain: getDomain(name, { allowPrivateDomains: true }) ?? name,
    name,
    brand: lookalike?.brand,
    score: lookalike?.score,
    client: String(client.address).slice(0, 64),
    user: user === undefined ? undefined : String(user).slice(0, 254),
    action: String(query.verdict.action),
  };
}

/**
 * The hot-path gate in front of the database claim: per domain at most one alert per cooldown in this
 * process, and at most `perMinute` alerts overall, so a client spraying random lookalike names cannot
 * turn the DNS gateway into a webhook flood (or a flood of incidents).
 */
export class LookalikeAlertGate {
  private readonly lastByDomain = new Map<string, number>();
  private windowStart = 0;
  private inWindow = 0;

  constructor(
    private readonly clock: Clock,
    private readonly perMinute = 20,
    private readonly maxDomains = 10_000,
  ) {}

  admit(domain: string, cooldownMs: number): boolean {
    const now = this.clock.now();
    const last = this.lastByDomain.get(domain);
    if (last !== undefined && now - last < cooldownMs) return false;
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perMinute) return false;
    this.inWindow++;
    if (this.lastByDomain.size >= this.maxDomains) this.lastByDomain.clear();
    this.lastByDomain.set(domain, now);
    return true;
  }
}
