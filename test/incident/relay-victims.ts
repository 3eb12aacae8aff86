/**
 * Seeds the 2022 relay through the real sign-in service: victims typed their password (and TOTP code)
 * into a lookalike page and the relay replayed them at the real portal from its own address. Every
 * audit row comes from `identity.legacySignIn`, exactly as a live relay would leave it.
 */
import type { GatehouseCore } from '../../src/core.js';
import { LegacyFactors } from '../../src/identity/index.js';

export const RELAY_IP = '198.51.100.23';
const RELAY = { ip: RELAY_IP, userAgent: 'python-requests/2.31 (relay)' };

export interface Victim {
  email: string;
  userId: string;
  password: string;
  totpSecret: string;
}

export async function withLegacyFactors(core: GatehouseCore, email: string, existingUserId?: string): Promise<Victim> {
  const userId = existingUserId ?? (await core.identity.users.add({ email })).id;
  const password = `correct horse ${email}`;
  await core.identity.legacy.setPassword(userId, password);
  const totpSecret = await core.identity.legacy.enrollTotp(userId);
  return { email, userId, password, totpSecret };
}

/** The relay passed the password and a fresh code: it holds a password+TOTP session now. */
export async function relayFullSignIn(core: GatehouseCore, victim: Victim): Promise<string> {
  const code = await LegacyFactors.codeFor(victim.totpSecret, core.clock.now());
  const { token } = await core.identity.legacySignIn({ email: victim.email, password: victim.password, code }, RELAY);
  return token;
}

/** The relay had the password but its replayed code was refused (bad_totp): the password is proven. */
export async function relayReplayedCode(core: GatehouseCore, victim: Victim): Promise<string> {
  try {
    await core.identity.legacySignIn({ email: victim.email, password: victim.password, code: '000000' }, RELAY);
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error('a wrong code was accepted');
}

/** The victim has a security key: password+TOTP is refused as a downgrade (legacy_downgrade_refused). */
export async function relayDowngrade(core: GatehouseCore, victim: Victim): Promise<string> {
  try {
    await core.identity.legacySignIn({ email: victim.email, password: victim.password, code: await LegacyFactors.codeFor(victim.totpSecret, core.clock.now()) }, RELAY);
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error('a downgrade was accepted');
}
