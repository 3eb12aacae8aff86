import type { PolicyConfig, SelectorConfig, TimeWindowConfig } from '../../config/index.js';
import { DAY_NAMES } from '../../lib/zoned-week-clock.js';

/**
 * A policy in words, for the people who review access ("Allow members of engineering signed in with
 * a hardware security key, with a key proof in the last 12 hours, from 10.0.0.0/8, Mon–Fri
 * 08:00–18:00 Europe/Paris"). It follows the schema's semantics: include is ANY (joined by "or"),
 * require is ALL, exclude is NONE ("except"). Plain text: the caller escapes it.
 */
export function describePolicy(policy: PolicyConfig): string {
  const verb = policy.action === 'allow' ? 'Allow' : policy.action === 'block' ? 'Block' : 'Open without sign-in (bypass) for';
  const who = policy.include.map(subjectOf).join(' or ');
  const conditions = policy.require.map(conditionOf);
  const except = policy.exclude.length > 0 ? [`except ${policy.exclude.map(subjectOf).join(' or ')}`] : [];
  return [`${verb} ${who}`, ...conditions, ...except].join(', ');
}

const AUTH_WORDS: Record<string, string> = {
  phishing_resistant: 'a security key or passkey',
  hwk: 'a hardware security key',
  swk: 'a passkey',
  otp: 'a one-time code',
  pwd: 'a password',
};

function list(values: readonly string[]): string {
  if (values.length <= 1) return values[0] ?? '';
  return `${values.slice(0, -1).join(', ')} or ${values.at(-1)!}`;
}

function duration(minutes: number): string {
  if (minutes % 1440 === 0) return minutes === 1440 ? 'day' : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? 'hour' : `${minutes / 60} hours`;
  return minutes === 1 ? 'minute' : `${minutes} minutes`;
}

const capital = (day: string) => day.charAt(0).toUpperCase() + day.slice(1);

/** Consecutive days as a range: mon,tue,wed,thu,fri → "Mon–Fri"; every day → "every day". */
function days(window: TimeWindowConfig): string {
  const indexes = [...new Set(window.days.map((d) => DAY_NAMES.indexOf(d)))].sort((a, b) => a - b);
  if (indexes.length === 7) return 'every day';
  const runs: string[] = [];
  for (let i = 0; i < indexes.length; ) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j]! + 1) j++;
    const first = capital(DAY_NAMES[indexes[i]!]!);
    const last = capital(DAY_NAMES[indexes[j]!]!);
    runs.push(j === i ? first : j === i + 1 ? `${first}, ${last}` : `${first}–${last}`);
    i = j + 1;
  }
  return runs.join(', ');
}

function timeWords(window: TimeWindowConfig): string {
  const hours = window.hours.length === 1 && window.hours[0] === '00:00-24:00' ? 'all day' : window.hours.map((h) => h.replace('-', '–')).join(', ');
  return `${days(window)} ${hours} ${window.time_zone}`;
}

/** A selector as the one the policy is about ("members of eng"). */
function subjectOf(selector: SelectorConfig): string {
  if (selector.everyone) return 'everyone';
  if (selector.group) return `members of ${list(selector.group)}`;
  if (selector.email) return list(selector.email);
  if (selector.email_domain) return `anyone at ${list(selector.email_domain.map((d) => `@${d}`))}`;
  if (selector.service_token) return `service token ${list(selector.service_token)}`;
  if (selector.service_token_tag) return `service tokens tagged ${list(selector.service_token_tag)}`;
  if (selector.method) return `${list(selector.method)} requests`;
  if (selector.path) return `requests to ${list(selector.path)}`;
  if (selector.time) return `anyone during ${timeWords(selector.time)}`;
  return `anyone ${conditionOf(selector)}`;
}

/** A selector as a condition on the request ("from 10.0.0.0/8"). */
function conditionOf(selector: SelectorConfig): string {
  if (selector.everyone) return 'for everyone';
  if (selector.group) return `in group ${list(selector.group)}`;
  if (selector.email) return `signed in as ${list(selector.email)}`;
  if (selector.email_domain) return `with an email at ${list(selector.email_domain.map((d) => `@${d}`))}`;
  if (selector.ip) return `from ${list(selector.ip)}`;
  if (selector.auth_method) return `signed in with ${list(selector.auth_method.map((m) => AUTH_WORDS[m] ?? m))}`;
  if (selector.auth_age !== undefined) return `with a key proof in the last ${duration(selector.auth_age)}`;
  if (selector.time) return timeWords(selector.time);
  if (selector.method) return `for ${list(selector.method)} requests`;
  if (selector.path) return `on ${list(selector.path)}`;
  if (selector.service_token) return `with service token ${list(selector.service_token)}`;
  if (selector.service_token_tag) return `with a service token tagged ${list(selector.service_token_tag)}`;
  return 'on an unknown condition';
}
