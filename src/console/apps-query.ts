import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

export type AppKind = 'web' | 'ssh' | 'tcp';

/** The refusal each kind of app records: a web request, an SSH certificate, a tunnel. */
export const DENIAL_TYPES: Record<AppKind, string> = { web: 'access.denied', ssh: 'ssh.certificate_refused', tcp: 'tunnel.refused' };

export interface AppDenial {
  seq: number;
  at: number;
  app: string;
  code: string | null;
  email: string | null;
  ip: string | null;
  /** The first reason line, or the request path: audit text, attacker-influenced, rendered escaped. */
  reason: string;
}

/**
 * The newest denials of every kind, grouped by app: one indexed read per kind (`audit_events_type_at`,
 * newest `scan` rows), so a quiet app among noisy ones may show none; the audit page has them all.
 */
export async function recentDenials(db: Kysely<Database>, scan: number, perApp: number): Promise<Map<string, AppDenial[]>> {
  const byApp = new Map<string, AppDenial[]>();
  for (const [kind, type] of Object.entries(DENIAL_TYPES) as [AppKind, string][]) {
    const rows = await db
      .selectFrom('audit_events')
      .leftJoin('users', 'users.id', 'audit_events.user_id')
      .select(['audit_events.seq', 'audit_events.at', 'audit_events.code', 'audit_events.ip', 'audit_events.detail', 'users.email'])
      .where('audit_events.type', '=', type)
      .orderBy('audit_events.at', 'desc')
      .limit(scan)
      .execute();
    for (const row of rows) {
      let detail: { app?: unknown; reasons?: unknown; reason?: unknown; path?: unknown } = {};
      try {
        detail = JSON.parse(row.detail) as typeof detail;
      } catch {
        continue;
      }
      if (typeof detail.app !== 'string') continue;
      const key = `${kind}:${detail.app}`;
      const list = byApp.get(key) ?? [];
      if (list.length >= perApp) continue;
      const firstReason = Array.isArray(detail.reasons) ? detail.reasons[0] : detail.reason;
      list.push({
        seq: Number(row.seq),
        at: Number(row.at),
        app: detail.app,
        code: row.code,
        email: row.email ?? null,
        ip: row.ip,
        reason: String(firstReason ?? detail.path ?? '').slice(0, 300),
      });
      byApp.set(key, list);
    }
  }
  return byApp;
}
