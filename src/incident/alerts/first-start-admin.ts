import type { Clock } from '../../lib/clock.js';
import type { AdminAddition } from './admin-group-watcher.js';

/**
 * The one admin-group addition this process itself makes at first start (`gatehouse serve` inviting the
 * first administrator while no admin has a key), so its alert can be worded as the expected notice it is
 * instead of "if nobody expected this, declare an incident" on every new installation.
 *
 * Threat: whoever can write the database can add a membership and forge everything stored beside it:
 * an audit event with actor `system:first-start`, a user named "Administrator", an alert claim. None of
 * that may turn a real alert into a calm one, so the only evidence trusted here is in this process's
 * memory: `expect()` is called by the code that is about to make the invitation, before it writes, and
 * an addition matches only if it is for that email and group, was added within a minute after `expect()`
 * was called, and is the first such match (one use, then forgotten). A forged row for any other email, group or time, or
 * a second row, gets the alert as before. Fail-safe direction: another instance's watcher, which never
 * heard of the expectation, may claim the addition first and raise the ordinary alert; and even the calm
 * notice is still raised (webhook when configured, audit event `admin_first_start`), never dropped.
 */
export interface FirstStartAdminExpectation {
  /** Called before the first-start invitation is written. */
  expect(email: string, group: string): void;
  /** True exactly once, for the addition the first start made; forgets the expectation when it matches. */
  take(addition: AdminAddition): boolean;
}

/** The invitation is written right after `expect()`: a membership dated later than this is not the first start's. */
const EXPECTATION_WINDOW_MS = 60_000;

export function createFirstStartAdminExpectation(clock: Clock): FirstStartAdminExpectation {
  const expected = new Map<string, number>();
  const keyOf = (email: string, group: string) => `${email.toLowerCase()}\u0000${group}`;
  return {
    expect(email, group) {
      expected.set(keyOf(email, group), clock.now());
    },
    take(addition) {
      const key = keyOf(addition.email, addition.group);
      const since = expected.get(key);
      if (since === undefined || addition.addedAt < since || addition.addedAt > since + EXPECTATION_WINDOW_MS) return false;
      expected.delete(key);
      return true;
    },
  };
}

/** The calm wording: still says what happened and what to do if it was not a new installation. */
export function firstStartAdminNotice(addition: AdminAddition): string {
  return (
    `${addition.email} was made an administrator (group "${addition.group}") by this Gatehouse at its first start, ` +
    `${new Date(addition.addedAt).toISOString()}: the one-time enrollment link was printed on the server's console. ` +
    'Expected on a new installation; if this installation is not new, declare an incident.'
  );
}
