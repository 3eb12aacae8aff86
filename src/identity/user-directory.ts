import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, InputError, NotFoundError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { Database } from '../store/index.js';

export interface User {
  id: string;
  email: string;
  name: string;
  status: 'active' | 'disabled';
  reenrollRequired: boolean;
  groups: string[];
  createdAt: number;
}

// A pragmatic address check (RFC 5321 allows more, but these are staff accounts): one @, no spaces,
// a dot in the domain, at most 254 octets.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw new InputError(`"${raw.slice(0, 80)}" is not an email address`, 'invalid_email');
  return email;
}

export function checkGroupName(name: string): string {
  if (!GROUP.test(name)) throw new InputError(`"${name.slice(0, 80)}" is not a valid group name (letters, digits, . _ -)`, 'invalid_group');
  return name;
}

type Row = Database['users'];

async function withGroups(db: Kysely<Database>, rows: Row[]): Promise<User[]> {
  if (rows.length === 0) return [];
  const memberships = await db
    .selectFrom('group_members')
    .select(['user_id', 'group_name'])
    .where('user_id', 'in', rows.map((r) => r.id))
    .orderBy('group_name')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    reenrollRequired: Number(row.reenroll_required) === 1,
    groups: memberships.filter((m) => m.user_id === row.id).map((m) => m.group_name),
    createdAt: Number(row.created_at),
  }));
}

export interface UserDirectory {
  add(input: { email: string; name?: string; groups?: string[] }, db?: Kysely<Database>): Promise<User>;
  get(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  /** Looks a user up by id or email; throws `user_not_found`. */
  require(idOrEmail: string): Promise<User>;
  list(filter?: { group?: string; status?: 'active' | 'disabled' }): Promise<User[]>;
  setStatus(userId: string, status: 'active' | 'disabled', db?: Kysely<Database>): Promise<void>;
  addToGroups(userId: string, groups: string[], db?: Kysely<Database>): Promise<void>;
  removeFromGroup(userId: string, group: string, db?: Kysely<Database>): Promise<void>;
  setReenrollRequired(userId: string, required: boolean, db?: Kysely<Database>): Promise<void>;
}

export function createUserDirectory({ db, clock, random }: { db: Kysely<Database>; clock: Clock; random: Random }): UserDirectory {
  const directory: UserDirectory = {
    async add(input, target = db) {
      const email = normaliseEmail(input.email);
      const groups = (input.groups ?? []).map(checkGroupName);
      const name = (input.name ?? email.split('@')[0] ?? email).trim().slice(0, 200);
      const existing = await target.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      if (existing) {
        // A conflict with the data, not a malformed request: HTTP 409, and the CLI's exit 1 (refused).
        const message = `a user with email ${email} already exists`;
        throw new GatehouseError('user_exists', { status: 409, publicMessage: message, detail: message });
      }
      const now = clock.now();
      const id = random.uuid();
      await target
        .insertInto('users')
        .values({ id, email, name, status: 'active', reenroll_required: 0, created_at: now, updated_at: now })
        .execute();
      if (groups.length > 0) await directory.addToGroups(id, groups, target);
      return { id, email, name, status: 'active', reenrollRequired: false, groups: [...new Set(groups)].sort(), createdAt: now };
    },
    async get(id) {
      const rows = await db.selectFrom('users').selectAll().where('id', '=', id).execute();
      return (await withGroups(db, rows))[0];
    },
    async findByEmail(email) {
      const rows = await db.selectFrom('users').selectAll().where('email', '=', email.trim().toLowerCase()).execute();
      return (await withGroups(db, rows))[0];
    },
    async require(idOrEmail) {
      const user = idOrEmail.includes('@') ? await directory.findByEmail(idOrEmail) : await directory.get(idOrEmail);
      if (!user) throw new NotFoundError(`user ${idOrEmail}`, 'user_not_found');
      return user;
    },
    async list(filter = {}) {
      let query = db.selectFrom('users').selectAll('users').orderBy('users.email');
      if (filter.status) query = query.where('users.status', '=', filter.status);
      if (filter.group) {
        const group = filter.group;
        query = query.where('users.id', 'in', (eb) =>
          eb.selectFrom('group_members').select('user_id').where('group_name', '=', group),
        );
      }
      return withGroups(db, await query.execute());
    },
    async setStatus(userId, status, target = db) {
      await target.updateTable('users').set({ status, updated_at: clock.now() }).where('id', '=', userId).execute();
    },
    async addToGroups(userId, groups, target = db) {
      const now = clock.now();
      for (const group of new Set(groups.map(checkGroupName))) {
        await target
          .insertInto('group_members')
          .values({ user_id: userId, group_name: group, added_at: now })
          .onConflict((oc) => oc.columns(['user_id', 'group_name']).doNothing())
          .execute();
      }
    },
    async removeFromGroup(userId, group, target = db) {
      await target.deleteFrom('group_members').where('user_id', '=', userId).where('group_name', '=', group).execute();
    },
    async setReenrollRequired(userId, required, target = db) {
      await target
        .updateTable('users')
        .set({ reenroll_required: required ? 1 : 0, updated_at: clock.now() })
        .where('id', '=', userId)
        .execute();
    },
  };
  return directory;
}
