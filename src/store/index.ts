export { openStore, migrationNames, type Store, type OpenStoreOptions } from './open-store.js';
export { publishChange, tailChangeFeed, pruneChangeFeed, FEED_CHANNEL, type Change, type ChangeFeedTail } from './change-feed.js';
export type { Database } from './schema.js';
export type { Dialect } from './dialect.js';
export { loadServerSecret } from './server-secret.js';
