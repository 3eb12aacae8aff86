export { openStore, migrationNames, type Store, type OpenStoreOptions } from './open-store.js';
export { publishChange, tailChangeFeed, pruneChangeFeed, FEED_CHANNEL, type Change, type ChangeFeedTail } from './change-feed.js';
export { commitChange, type CommitChangeOptions, type ChangeAuditor, type ChangeAuditEvent, type FeedRow, type FromWrite } from './commit-change.js';
export type { Database } from './schema.js';
export type { Dialect } from './dialect.js';
