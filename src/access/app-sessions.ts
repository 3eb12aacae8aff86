import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import { hashSecret } from '../lib/secret-hash.js';
import type { SessionManager, SessionView } from '../identity/index.js';
import type { Store } from '../store/index.js';

const CODE_TTL_MS = 60_000;
/** The one public message for every handshake refusal; the reason goes to the audit log. */
export const HANDSHAKE_FAILED = 'The sign-in link for this app expired or was already used. Open the app again.';

/**
 * The sign-in handshake for app hosts and the per-app sessions it creates.
 *
 * The portal cookie is host-only, so an app host never sees it. After sign-in the portal issues a
 * one-time code bound to (portal session, app), valid for a minute; the app host exchanges it for its
 * own host-only cookie. An app session is a child of the portal session: revoking the portal session
 * (sign out everywhere, an incident) ends every app session with it.
 */
export class AppSessions {
  private readonly cache = new Map<string, { sessionHash: string; app: string }>();

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionManager,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /**
   * Portal side: a single-use code for `app`, bound to the signed-in session and to the handshake
   * state the app host gave the starting browser (`binding`, the hash of its state cookie). The
   * binding is folded into the stored hash, so a code only redeems together with the state it was
   * issued for: swapping the `state` of someone else's callback onto one's own code finds no row.
   */
  async issueCode(session: SessionView, app: string, binding: string): Promise<string> {
    const code = randomToken(this.random, 32);
    await this.store.db
      .insertInto('app_codes')
      .values({ code_hash: boundCodeHash(code, binding), session_hash: session.idHash, app, expires_at: this.clock.now() + CODE_TTL_MS, used_at: null })
      .execute();
    return code;
  }

  /**
   * App side: exchanges a code for an app session token. Refused when the code is unknown, used,
   * expired, issued for another app or another handshake state, or its portal session has ended
   * (`handshake_code_invalid`).
   */
  async exchange(code: unknown, app: string, binding: string): Promise<{ token: string; session: SessionView }> {
    const refuse = (detail: string) => new GatehouseError('handshake_code_invalid', { status: 400, publicMessage: HANDSHAKE_FAILED, detail });
    if (typeof code !== 'string' || code.length < 20 || code.length > 100) throw refuse('malformed code');
    const now = this.clock.now();
    const row = await this.store.db
      .updateTable('app_codes')
      .set({ used_at: now })
      .where('code_hash', '=', boundCodeHash(code, binding))
      .where('used_at', 'is', null)
      .returning(['session_hash', 'app', 'expires_at'])
      .executeTakeFirst();
    if (!row) throw refuse('unknown or already used code, or a code issued for another handshake state (replay or planting?)');
    if (row.app !== app) throw refuse(`code issued for app ${row.app}, presented to ${app}`);
    if (now >= Number(row.expires_at)) throw refuse('code expired');
    const session = await this.sessions.validateHash(row.session_hash);
    if (!session) throw refuse('the portal session has ended');
    const token = randomToken(this.random, 32);
    const idHash = hashSecret(token);
    await this.store.db.insertInto('app_sessions').values({ id_hash: idHash, session_hash: row.session_hash, app, created_at: now }).execute();
    this.cache.set(idHash, { sessionHash: row.session_hash, app });
    return { token, session };
  }

  /** The portal session behind an app cookie, if it is for this app and still valid. */
  async validate(token: string | undefined, app: string): Promise<SessionView | undefined> {
    if (!token || token.length > 100) return undefined;
    const idHash = hashSecret(token);
    let entry = this.cache.get(idHash);
    if (!entry) {
      const row = await this.store.db.selectFrom('app_sessions').select(['session_hash', 'app']).where('id_hash', '=', idHash).executeTakeFirst();
      if (!row) return undefined;
      entry = { sessionHash: row.session_hash, app: row.app };
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(idHash, entry);
    }
    if (entry.app !== app) return undefined;
    return this.sessions.validateHash(entry.sessionHash);
  }

  async pruneCodes(): Promise<void> {
    await this.store.db.deleteFrom('app_codes').where('expires_at', '<', this.clock.now() - CODE_TTL_MS).execute();
  }
}

function boundCodeHash(code: string, binding: string): string {
  return hashSecret(`${code}.${binding}`);
}
