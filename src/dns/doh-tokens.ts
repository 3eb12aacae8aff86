import type { Clock } from '../lib/clock.js';
import { randomToken, type Random } from '../lib/random.js';
import { hashSecret } from '../lib/secret-hash.js';
import type { Store } from '../store/index.js';
import type { DohIdentity } from './doh-handler.js';

/**
 * Personal DNS-over-HTTPS URLs (`<doh_path>/<token>`): queries through one are logged with the user, so
 * hunts can say who resolved a phishing domain, not only which address did. Only hashes are stored; a
 * disabled user's URL stops resolving.
 */
export class DohTokens {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async issue(userId: string): Promise<string> {
    const token = randomToken(this.random, 32);
    await this.store.db.insertInto('doh_tokens').values({ token_hash: hashSecret(token), user_id: userId, created_at: this.clock.now() }).execute();
    return token;
  }

  async revokeForUser(userId: string): Promise<number> {
    const result = await this.store.db.deleteFrom('doh_tokens').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  resolve = async (token: string): Promise<DohIdentity | null> => {
    const row = await this.store.db
      .selectFrom('doh_tokens')
      .innerJoin('users', 'users.id', 'doh_tokens.user_id')
      .select(['users.id', 'users.status'])
      .where('doh_tokens.token_hash', '=', hashSecret(token))
      .executeTakeFirst();
    return row && row.status === 'active' ? { user: row.id } : null;
  };
}
