import type { SelectorConfig, TimeWindowConfig } from '../../config/index.js';
import { compileCidrSet } from '../../lib/ip/cidr-set.js';
import { type EvalContext, AMR_BITS, PHISHING_RESISTANT_BITS } from './eval-context.js';
import { formatIp } from '../../lib/ip/ip-address.js';
import { compilePathMatcher } from '../../lib/path-pattern.js';
import { DAY_NAMES, type ZonedWeekClocks } from '../../lib/zoned-week-clock.js';

/**
 * Three-valued match (Kleene logic): PENDING means "unknown until the user acts": either there is
 * no identity yet (sign in) or the key proof is too old (step up). Because `auth_age` may not
 * appear under `exclude`, PENDING from a fresh-enough identity only ever flows positively.
 */
export const NO = 0;
export const YES = 1;
export const PENDING = 2;
export type Tri = typeof NO | typeof YES | typeof PENDING;

export type SelectorKind = keyof SelectorConfig;

export interface CompiledSelector {
  readonly kind: SelectorKind;
  readonly test: (ctx: EvalContext) => Tri;
  /**
   * Audit detail of what was compared (slow path: deny and step-up), given the selector's result
   * for this request (`test`, or the program's equal answer). The configured side is written once
   * at compile time and the request side once per decision (EvalContext), so a deny with many miss
   * lines costs a few string joins per line.
   */
  readonly describe: (ctx: EvalContext, result: Tri) => string;
}

function listText(items: readonly string[]): string {
  const shown = items.slice(0, 5).join(', ');
  return `[${shown}${items.length > 5 ? `, … ${items.length - 5} more` : ''}]`;
}

/** "HH:MM" for each minute of a day, written on first use. */
const MINUTE_TEXT: string[] = [];
function minuteText(m: number): string {
  let text = MINUTE_TEXT[m];
  if (text === undefined) MINUTE_TEXT[m] = text = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return text;
}

function compileTime(window: TimeWindowConfig, clocks: ZonedWeekClocks): Omit<CompiledSelector, 'kind'> {
  const weekMinuteOf = clocks.for(window.time_zone);
  // The hot path uses a shared week bitset (policy-program.ts); this slow-path form keeps no
  // 10 KB bitset per selector and states the rule directly.
  const days = new Set(window.days.map((d) => DAY_NAMES.indexOf(d)));
  const ranges = window.hours.map((h) => h.split('-').map((hm) => (hm === '24:00' ? 1440 : Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3)))) as [number, number]);
  const inside = (m: number) => m >= 0 && days.has(Math.floor(m / 1440)) && ranges.some(([from, to]) => m % 1440 >= from && m % 1440 < to);
  const configured = `${window.days.join(',')} ${window.hours.join(',')} ${window.time_zone}`;
  const insideText = ` inside ${configured}`;
  const outsideText = ` outside ${configured}`;
  const unreadable = `local time unreadable in ${window.time_zone}`;
  return {
    test: (ctx) => (inside(weekMinuteOf(ctx.now)) ? YES : NO),
    describe: (ctx, result) => {
      const m = weekMinuteOf(ctx.now);
      if (m < 0) return unreadable;
      return `local time ${DAY_NAMES[Math.floor(m / 1440)]} ${minuteText(m % 1440)}${result === YES ? insideText : outsideText}`;
    },
  };
}

const NO_USER = 'no signed-in user';
const TOKEN_NOT_USER = 'a service token, not a signed-in user';
const NO_TOKEN = 'no service token';

/**
 * " in [a, b]" / " not in [a, b]" (or other verbs) for a configured list, written on first use
 * and kept: only selectors that ever explain a deny pay for the text.
 */
const noUser = (ctx: EvalContext) => (ctx.serviceToken === undefined ? NO_USER : TOKEN_NOT_USER);

function verdicts(yes: string, no: string, items: readonly string[]): (matched: boolean) => string {
  let texts: readonly [string, string] | undefined;
  return (matched) => {
    if (texts === undefined) {
      const configured = listText(items);
      texts = [` ${yes} ${configured}`, ` ${no} ${configured}`];
    }
    return matched ? texts[0] : texts[1];
  };
}

function compileBody(selector: SelectorConfig, clocks: ZonedWeekClocks): Omit<CompiledSelector, 'kind'> {
  if (selector.everyone) return { test: () => YES, describe: () => 'everyone' };
  if (selector.email) {
    const set = new Set(selector.email);
    const verdict = verdicts('in', 'not in', selector.email);
    return {
      test: (ctx) => (ctx.identity === undefined ? ctx.noIdentity : set.has(ctx.email()) ? YES : NO),
      describe: (ctx, result) => (ctx.identity === undefined ? noUser(ctx) : `email ${ctx.email()}${verdict(result === YES)}`),
    };
  }
  if (selector.email_domain) {
    const set = new Set(selector.email_domain);
    const verdict = verdicts('in', 'not in', selector.email_domain);
    return {
      test: (ctx) => (ctx.identity === undefined ? ctx.noIdentity : set.has(ctx.emailDomain()) ? YES : NO),
      describe: (ctx, result) => (ctx.identity === undefined ? noUser(ctx) : `email domain ${ctx.emailDomain() || '(none)'}${verdict(result === YES)}`),
    };
  }
  if (selector.group) {
    const set = new Set(selector.group);
    const verdict = verdicts('meet', 'not in', selector.group);
    return {
      test: (ctx) => {
        const identity = ctx.identity;
        if (identity === undefined) return ctx.noIdentity;
        const groups = identity.groups;
        for (let i = 0; i < groups.length; i++) if (set.has(groups[i]!)) return YES;
        return NO;
      },
      describe: (ctx, result) => (ctx.identity === undefined ? noUser(ctx) : `user groups ${(ctx.groupsText ??= listText(ctx.identity.groups))}${verdict(result === YES)}`),
    };
  }
  if (selector.ip) {
    const set = compileCidrSet(selector.ip);
    const verdict = verdicts('in', 'not in', selector.ip);
    return {
      test: (ctx) => (set.has(ctx.ip) ? YES : NO),
      describe: (ctx, result) => `client ${(ctx.clientText ??= formatIp(ctx.ip))}${verdict(result === YES)}`,
    };
  }
  if (selector.auth_method) {
    let mask = 0;
    for (const m of selector.auth_method) mask |= m === 'phishing_resistant' ? PHISHING_RESISTANT_BITS : (AMR_BITS.get(m) ?? 0);
    const wanted = selector.auth_method.join('|');
    const hasText = ` has ${wanted}`;
    const lacksText = ` lacks ${wanted}`;
    return {
      test: (ctx) => (ctx.identity === undefined ? ctx.noIdentity : (ctx.amrBits() & mask) !== 0 ? YES : NO),
      describe: (ctx, result) => (ctx.identity === undefined ? noUser(ctx) : `session amr [${(ctx.amrText ??= [...ctx.identity.amr].join(','))}]${result === YES ? hasText : lacksText}`),
    };
  }
  if (selector.auth_age !== undefined) {
    const maxMs = selector.auth_age * 60_000;
    return {
      test: (ctx) => {
        if (ctx.identity === undefined) return ctx.noIdentity;
        const at = ctx.identity.phishingResistantAt;
        // A proof time in the future (clock skew between instances) counts as fresh.
        return at !== undefined && Number.isFinite(at) && ctx.now - at <= maxMs ? YES : PENDING;
      },
      describe: (ctx) => {
        if (ctx.identity === undefined) return noUser(ctx);
        const at = ctx.identity.phishingResistantAt;
        if (at === undefined || !Number.isFinite(at)) return `no phishing-resistant proof in this session, max ${selector.auth_age} min`;
        return `last phishing-resistant proof ${Math.floor((ctx.now - at) / 60_000)} min ago, max ${selector.auth_age} min`;
      },
    };
  }
  if (selector.time) return compileTime(selector.time, clocks);
  if (selector.method) {
    const set = new Set(selector.method);
    const verdict = verdicts('in', 'not in', selector.method);
    return {
      test: (ctx) => (set.has(ctx.method()) ? YES : NO),
      describe: (ctx, result) => `method ${ctx.method()}${verdict(result === YES)}`,
    };
  }
  if (selector.path) {
    const matches = compilePathMatcher(selector.path);
    const verdict = verdicts('covered by', 'not covered by', selector.path);
    return {
      test: (ctx) => (matches(ctx.path) ? YES : NO),
      describe: (ctx, result) => `path ${ctx.path}${verdict(result === YES)}`,
    };
  }
  // Only a verified service token matches these; a person's session never does (and an identity
  // selector never matches a token: see EvalContext.noIdentity).
  if (selector.service_token) {
    const set = new Set(selector.service_token);
    const verdict = verdicts('in', 'not in', selector.service_token);
    return {
      test: (ctx) => (ctx.serviceToken !== undefined && set.has(ctx.serviceToken.name) ? YES : NO),
      describe: (ctx, result) => (ctx.serviceToken === undefined ? NO_TOKEN : `service token ${ctx.serviceToken.name}${verdict(result === YES)}`),
    };
  }
  if (selector.service_token_tag) {
    const set = new Set(selector.service_token_tag);
    const verdict = verdicts('meet', 'not in', selector.service_token_tag);
    return {
      test: (ctx) => {
        const tags = ctx.tokenTags();
        for (let i = 0; i < tags.length; i++) if (set.has(tags[i]!)) return YES;
        return NO;
      },
      describe: (ctx, result) => (ctx.serviceToken === undefined ? NO_TOKEN : `service token tags ${listText(ctx.serviceToken.tags)}${verdict(result === YES)}`),
    };
  }
  // Programmer misuse: the schema guarantees exactly one known key.
  throw new Error(`compileSelector: no known selector in ${JSON.stringify(Object.keys(selector))}`);
}

export function compileSelector(selector: SelectorConfig, clocks: ZonedWeekClocks): CompiledSelector {
  const keys = (Object.keys(selector) as SelectorKind[]).filter((k) => selector[k] !== undefined);
  if (keys.length !== 1) throw new Error(`compileSelector: expected one selector key, got ${keys.join(',') || 'none'}`);
  return { kind: keys[0]!, ...compileBody(selector, clocks) };
}
