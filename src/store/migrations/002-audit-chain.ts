import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import { GENESIS_HASH_V1, hashAuditRowV1, type AuditRowV1 } from './002-audit-hash-v1.js';

const BACKFILL_PAGE = 2000;

/**
 * The tamper-evident audit log. Adds `prev_hash` and `hash` to every event, chains the
 * events already written in seq order, and creates the one-row head (the append lock and the last
 * hash) and the signed retention checkpoints.
 */
export function auditChainMigration(dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('audit_events').addColumn('prev_hash', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('audit_events').addColumn('hash', 'text', (c) => c.notNull().defaultTo('')).execute();
      if (dialect === 'postgres') {
        // Every append now names its seq (head + 1, under the head lock). Without the default an
        // insert that bypasses the chain fails instead of taking a number from the sequence.
        await sql`alter table audit_events alter column seq drop default`.execute(db);
      }
      await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
      await db.schema.createIndex('audit_events_ip').on('audit_events').column('ip').execute();

      const head = await backfill(db, dialect);

      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', ms, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into audit_head (id, seq, hash) values (1, ${head.seq}, ${head.hash})`.execute(db);

      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', ms, (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}

/** Chains the events written before this migration, in seq order (gaps left by rollbacks are kept). */
async function backfill(db: Kysely<unknown>, dialect: Dialect): Promise<{ seq: number; hash: string }> {
  let prev = GENESIS_HASH_V1;
  let last = 0;
  for (;;) {
    const page = await sql<AuditRowV1>`
      select seq, at, type, outcome, code, user_id, actor, ip, detail from audit_events
      where seq > ${last} order by seq limit ${BACKFILL_PAGE}`.execute(db);
    if (page.rows.length === 0) return { seq: last, hash: prev };
    const seqs: number[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const raw of page.rows) {
      const row = { ...raw, seq: Number(raw.seq), at: Number(raw.at) };
      const hash = hashAuditRowV1(prev, row);
      seqs.push(row.seq);
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
      last = row.seq;
    }
    if (dialect === 'postgres') {
      await sql`update audit_events as e set prev_hash = v.p, hash = v.h
        from unnest(${seqs}::bigint[], ${prevs}::text[], ${hashes}::text[]) as v(s, p, h) where e.seq = v.s`.execute(db);
    } else {
      for (let i = 0; i < seqs.length; i++) {
        await sql`update audit_events set prev_hash = ${prevs[i]}, hash = ${hashes[i]} where seq = ${seqs[i]}`.execute(db);
      }
    }
  }
}
