/**
 * The incident timeline stream (/admin/incidents/:id/events) attacked (the attacker's view, written
 * before the tests):
 * - A stolen admin cookie is revoked mid-incident (the playbook revokes it, or a responder does):
 *   the thief's open stream is a live feed of the response (who is contained, what is blocked). No
 *   entry written after the revocation may reach it, and the stream must end, not idle until the
 *   next heartbeat. Same for an admin removed from the admin group.
 * - A reconnect carrying a hostile Last-Event-ID (markup, an SSE field injection attempt, 8 KB):
 *   the value is compared, never echoed; the stream sends each entry once and stays well-formed.
 * - A framing page or a shared cache: the stream is no-store, unframeable, nosniff.
 * - A stream held open past the idle timeout: its re-checks must not count as use, or a stolen cookie
 *   (or a tab left open on an incident) keeps the session alive until its absolute end.
 * - HEAD requests (fastify answers HEAD for every GET route by running the GET handler): each would
 *   start a stream with no body to carry it; if it held its place, a few HEADs would lock the admin
 *   out of the live view (429) until a restart.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { TestBrowser } from '../support/http-client.js';
import { startConsoleKit, type ConsoleKit } from './console-test-kit.js';

interface Stream {
  raw: () => string;
  texts: () => string[];
  response: Promise<http.IncomingMessage>;
  ended: Promise<void>;
  close(): void;
  waitFor(match: (text: string) => boolean): Promise<void>;
}

function openStream(port: number, host: string, cookie: string, path: string, extra: Record<string, string> = {}): Stream {
  let raw = '';
  const waiters: { match: (t: string) => boolean; resolve: () => void }[] = [];
  const texts = () => [...raw.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { text: string }).text);
  let req!: http.ClientRequest;
  let ended!: () => void;
  const endedPromise = new Promise<void>((resolve) => (ended = resolve));
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path, headers: { host, cookie, accept: 'text/event-stream', ...extra }, agent: false }, (res) => {
      resolve(res);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        for (const w of waiters.filter((w) => texts().some(w.match))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      });
      res.on('close', ended);
    });
    req.on('error', (error) => {
      reject(error);
      ended();
    });
  });
  return {
    raw: () => raw,
    texts,
    response,
    ended: endedPromise,
    close: () => req.destroy(),
    waitFor: (match) => (texts().some(match) ? Promise.resolve() : new Promise((resolve) => waiters.push({ match, resolve }))),
  };
}

const cookieOf = (browser: TestBrowser, host: string) => [...browser.cookies(host)].map(([k, v]) => `${k}=${v}`).join('; ');

describe('console attacks: the live incident stream', { timeout: 90_000 }, () => {
  let kit: ConsoleKit;
  let host: string;
  const streams: Stream[] = [];
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: 'dns:\n  age:\n    enabled: false\n' });
    host = new URL(kit.fx.portalOrigin).host;
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await kit?.close();
  });

  const declared = async (title: string) => {
    const result = await kit.fx.gatehouse.incidents.declare({ title, domains: [] }, { actor: 'test' });
    if (!('incident' in result)) throw new Error('not declared');
    return result.incident.id;
  };
  const open = (cookie: string, path: string, extra: Record<string, string> = {}) => {
    const s = openStream(kit.fx.port, host, cookie, path, extra);
    streams.push(s);
    return s;
  };

  it('sends the stream no-store, unframeable and nosniff', async () => {
    const id = await declared('Headers');
    const s = open(cookieOf(kit.admin, kit.fx.portalHost), `/admin/incidents/${id}/events`);
    const res = await s.response;
    expect({
      status: res.statusCode,
      type: String(res.headers['content-type']).split(';')[0],
      cache: res.headers['cache-control'],
      frame: String(res.headers['content-security-policy']).includes("frame-ancestors 'none'"),
      nosniff: res.headers['x-content-type-options'],
    }).toEqual({ status: 200, type: 'text/event-stream', cache: 'no-store', frame: true, nosniff: 'nosniff' });
    s.close();
  });

  it('sends nothing written after the session is revoked, and ends the stream', async () => {
    const thief = new TestBrowser(kit.fx.port);
    await enrolThroughPortal(kit.fx, thief, 'second-admin@acme.test', ['admins']);
    const id = await declared('Stolen cookie');
    const s = open(cookieOf(thief, kit.fx.portalHost), `/admin/incidents/${id}/events`);
    await s.waitFor((t) => t.startsWith('declared'));
    const user = await kit.fx.gatehouse.core.identity.users.require('second-admin@acme.test');
    await kit.fx.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'stolen cookie' });
    // Written at once after the revocation: the next poll sees it long before the next heartbeat.
    await kit.fx.gatehouse.incidents.close(id, { actor: 'admin:responder', note: 'contained the thief', liftBlocks: false });
    await s.ended;
    expect(s.texts().some((t) => t.includes('closed by'))).toBe(false);
    expect(s.raw()).not.toContain('contained the thief');
  });

  it('ends the stream of an admin removed from the admin group, before the next entry', async () => {
    const former = new TestBrowser(kit.fx.port);
    await enrolThroughPortal(kit.fx, former, 'former-admin@acme.test', ['admins']);
    const id = await declared('Demoted');
    const s = open(cookieOf(former, kit.fx.portalHost), `/admin/incidents/${id}/events`);
    await s.waitFor((t) => t.startsWith('declared'));
    const core = kit.fx.gatehouse.core;
    const user = await core.identity.users.require('former-admin@acme.test');
    await core.identity.removeUserFromGroups(user.id, ['admins'], 'test');
    await kit.fx.gatehouse.incidents.close(id, { actor: 'admin:responder', note: 'demoted', liftBlocks: false });
    await s.ended;
    expect(s.texts().some((t) => t.includes('closed by'))).toBe(false);
  });

  it('compares a hostile Last-Event-ID and never echoes it; each entry is sent once', async () => {
    const id = await declared('Resume');
    const cookie = cookieOf(kit.admin, kit.fx.portalHost);
    for (const lastEventId of ['<script>alert(1)</script>', 'x data: {"text":"forged","at":0}', 'A'.repeat(8000)]) {
      const s = open(cookie, `/admin/incidents/${id}/events`, { 'last-event-id': lastEventId });
      expect((await s.response).statusCode).toBe(200);
      await s.waitFor((t) => t.startsWith('declared'));
      expect(s.raw()).not.toContain(lastEventId.slice(0, 30));
      expect(s.texts().filter((t) => t.startsWith('declared'))).toHaveLength(1);
      expect(s.texts()).not.toContain('forged');
      s.close();
      await s.ended;
    }
  });

  it('does not let HEAD requests hold stream places', async () => {
    const id = await declared('Heads');
    const cookie = cookieOf(kit.admin, kit.fx.portalHost);
    for (let i = 0; i < 6; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ method: 'HEAD', host: '127.0.0.1', port: kit.fx.port, path: `/admin/incidents/${id}/events`, headers: { host, cookie }, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBeLessThan(500);
    }
    // Places are given back when the connection closes: wait for it, then the live view opens.
    await expect
      .poll(async () => {
        const s = open(cookie, `/admin/incidents/${id}/events`);
        const code = (await s.response).statusCode;
        s.close();
        await s.ended;
        return code;
      })
      .toBe(200);
  });

  it('holds the per-session bound when ten streams are opened at once', async () => {
    const id = await declared('Burst');
    const cookie = cookieOf(kit.admin, kit.fx.portalHost);
    const burst = Array.from({ length: 10 }, () => open(cookie, `/admin/incidents/${id}/events`));
    const statuses = (await Promise.all(burst.map((s) => s.response))).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 429, 429, 429, 429]);
    for (const s of burst) s.close();
    await Promise.all(burst.map((s) => s.ended));
  });

  it('does not keep an idle session alive: the stream re-checks it without counting as use', async () => {
    const idler = new TestBrowser(kit.fx.port);
    await enrolThroughPortal(kit.fx, idler, 'idle-admin@acme.test', ['admins']);
    const cookie = cookieOf(idler, kit.fx.portalHost);
    const id = await declared('Idle');
    const s = open(cookie, `/admin/incidents/${id}/events`);
    await s.waitFor((t) => t.startsWith('declared'));
    // Almost the idle timeout (identity.idle_timeout_minutes, 8 h) passes with only the stream open;
    // a heartbeat re-checks the session, and a new entry makes the stream re-check it again.
    kit.clock.advance(8 * 3_600_000 - 60_000);
    await kit.fx.gatehouse.incidents.resume(id, { actor: 'admin:responder' }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    kit.clock.advance(2 * 60_000);
    // Past the idle timeout counted from the last real use: the session has ended.
    const reply = await idler.fetch(`${kit.fx.portalOrigin}/admin/incidents`, { headers: { accept: 'application/json' } });
    expect({ status: reply.status, code: reply.body.startsWith('{') ? (JSON.parse(reply.body) as { error?: string }).error : 'a page' }).toEqual({ status: 401, code: 'admin_session_required' });
    s.close();
  });
});
