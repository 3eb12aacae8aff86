/**
 * The console's live streams (the incident timeline, /admin/incidents/:id/events) against a stolen
 * cookie (the attacker's view, written before the tests):
 * - the thief opens many streams with one cookie: at most `console.live_streams_per_session`
 *   (default 2), the next answered 429 `console_too_many_streams`; the refusal is audited once per
 *   window, however often the script retries;
 * - the thief signs in more sessions of the same admin: at most `console.live_streams_per_admin`;
 * - the cookie is revoked: its open streams end as soon as the change-feed row arrives, on this
 *   instance and on another one sharing the database, with no new timeline entry to trigger a
 *   re-check, and long before the 15 s heartbeat would.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/lib/secret-hash.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { startConsoleKit, type ConsoleKit } from './console-test-kit.js';

interface Stream {
  response: Promise<http.IncomingMessage>;
  /** The first timeline entry arrived (the stream's first poll, and its session re-check, are done). */
  firstEntry: Promise<void>;
  body: Promise<string>;
  ended: Promise<'ended'>;
  close(): void;
}

const opened: Stream[] = [];

function openStream(port: number, host: string, cookie: string, path: string, accept = 'text/event-stream'): Stream {
  let req!: http.ClientRequest;
  let ended!: (value: 'ended') => void;
  const endedPromise = new Promise<'ended'>((resolve) => (ended = resolve));
  let body!: Promise<string>;
  let entry!: () => void;
  const firstEntry = new Promise<void>((resolve) => (entry = resolve));
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path, headers: { host, cookie, accept }, agent: false }, (res) => {
      body = new Promise((done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\ndata: ')) entry();
        });
        res.on('close', () => done(text));
      });
      res.on('close', () => ended('ended'));
      resolve(res);
    });
    req.on('error', (error) => {
      reject(error);
      ended('ended');
    });
  });
  const stream = { response, firstEntry, get body() { return body; }, ended: endedPromise, close: () => req.destroy() };
  opened.push(stream);
  return stream;
}

const EXTRA = 'dns:\n  age:\n    enabled: false\n';
/** Well under the 15 s heartbeat that would also end a revoked session's stream. */
const BEFORE_HEARTBEAT_MS = 8_000;
const endsSoon = (s: Stream) => Promise.race([s.ended, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), BEFORE_HEARTBEAT_MS))]);

describe('console: live streams per session and per admin, ended on revocation', { timeout: 90_000 }, () => {
  let kit: ConsoleKit;
  let host: string;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: EXTRA });
    host = new URL(kit.fx.portalOrigin).host;
  });
  afterAll(async () => {
    for (const s of opened) s.close();
    await kit?.close();
  });

  const declared = async (title: string) => {
    const result = await kit.fx.gatehouse.incidents.declare({ title, domains: [] }, { actor: 'test' });
    if (!('incident' in result)) throw new Error('not declared');
    return result.incident.id;
  };
  /** A fresh session of the admin, signed in with their key in another browser. */
  const adminSession = async () => {
    const browser = new TestBrowser(kit.fx.port);
    expect(await signInThroughPortal(kit.fx, browser, kit.adminKey)).toBe(200);
    const jar = browser.cookies(kit.fx.portalHost);
    return { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), idHash: hashSecret(jar.get('gatehouse_session')!) };
  };
  const refusals = async (idHash: string) =>
    (await kit.fx.gatehouse.core.store.db.selectFrom('audit_events').select(['code', 'detail']).where('type', '=', 'admin.stream_refused').execute())
      .map((r) => ({ code: r.code, detail: JSON.parse(String(r.detail)) as { limit: string; session: string } }))
      .filter((r) => r.detail.session === idHash.slice(0, 16));

  it('lets one session hold two streams, refuses the third with console_too_many_streams, and audits the refusal once', async () => {
    const id = await declared('Per session');
    const session = await adminSession();
    const path = `/admin/incidents/${id}/events`;
    const held = [openStream(kit.fx.port, host, session.cookie, path), openStream(kit.fx.port, host, session.cookie, path)];
    expect(await Promise.all(held.map(async (s) => (await s.response).statusCode))).toEqual([200, 200]);
    const third = openStream(kit.fx.port, host, session.cookie, path, 'application/json');
    const refused = await third.response;
    expect({ status: refused.statusCode, error: (JSON.parse(await third.body) as { error: string }).error }).toEqual({ status: 429, error: 'console_too_many_streams' });
    // A script retrying: still refused, and still one audit event in the window.
    expect((await openStream(kit.fx.port, host, session.cookie, path).response).statusCode).toBe(429);
    await expect.poll(() => refusals(session.idHash)).toHaveLength(1);
    expect(await refusals(session.idHash)).toEqual([{ code: 'console_too_many_streams', detail: expect.objectContaining({ limit: 'session' }) as unknown }]);
    // Closing one gives its place back.
    held[0]!.close();
    await held[0]!.ended;
    await expect.poll(async () => (await openStream(kit.fx.port, host, session.cookie, path).response).statusCode).toBe(200);
    for (const s of opened) s.close();
  });

  it('bounds the streams of one admin across sessions', async () => {
    const id = await declared('Per admin');
    const path = `/admin/incidents/${id}/events`;
    const [a, b, c] = [await adminSession(), await adminSession(), await adminSession()];
    const held = [a, a, b, b].map((s) => openStream(kit.fx.port, host, s.cookie, path));
    expect(await Promise.all(held.map(async (s) => (await s.response).statusCode))).toEqual([200, 200, 200, 200]);
    const fifth = openStream(kit.fx.port, host, c.cookie, path, 'application/json');
    expect({ status: (await fifth.response).statusCode, error: (JSON.parse(await fifth.body) as { error: string }).error }).toEqual({ status: 429, error: 'console_too_many_streams' });
    await expect.poll(() => refusals(c.idHash)).toEqual([{ code: 'console_too_many_streams', detail: expect.objectContaining({ limit: 'admin' }) as unknown }]);
    for (const s of opened) s.close();
    await Promise.all(held.map((s) => s.ended));
  });

  it('ends a revoked session\'s streams at once, and only those', async () => {
    const id = await declared('Revoked');
    const path = `/admin/incidents/${id}/events`;
    const [stolen, kept] = [await adminSession(), await adminSession()];
    const thief = [openStream(kit.fx.port, host, stolen.cookie, path), openStream(kit.fx.port, host, stolen.cookie, path)];
    const owner = openStream(kit.fx.port, host, kept.cookie, path);
    for (const s of [...thief, owner]) await s.firstEntry;
    // No timeline entry is written after this: only the revocation can end the streams before the heartbeat.
    await kit.fx.gatehouse.core.identity.revokeSession(stolen.idHash, { actor: 'test', reason: 'stolen cookie' });
    expect(await Promise.all(thief.map(endsSoon))).toEqual(['ended', 'ended']);
    expect(await Promise.race([owner.ended, new Promise((resolve) => setTimeout(() => resolve('still open'), 500))])).toBe('still open');
    // The place of the revoked session's streams is given back, and the revoked cookie opens none.
    expect((await openStream(kit.fx.port, host, stolen.cookie, path).response).statusCode).not.toBe(200);
    owner.close();
  });

  it('ends on another instance the streams of a session revoked on this one', async () => {
    let second: GatehouseFixture | undefined;
    try {
      second = await startFixture({ dir: kit.fx.dir, clock: kit.clock, legacy: { password: true, totp: true }, extraYaml: EXTRA });
      const id = await declared('Revoked elsewhere');
      const stolen = await adminSession();
      const s = openStream(second.port, `${kit.fx.portalHost}:${second.port}`, stolen.cookie, `/admin/incidents/${id}/events`);
      await s.firstEntry;
      await kit.fx.gatehouse.core.identity.revokeUserSessions((await kit.fx.gatehouse.core.identity.users.require('admin@acme.test')).id, { actor: 'test', reason: 'stolen cookie' });
      expect(await endsSoon(s)).toBe('ended');
    } finally {
      await second?.close();
    }
  });

  it('ends every stream when everyone is signed out', async () => {
    const id = await declared('Everyone out');
    const session = await adminSession();
    const s = openStream(kit.fx.port, host, session.cookie, `/admin/incidents/${id}/events`);
    await s.firstEntry;
    await kit.fx.gatehouse.core.identity.revokeAllSessions({ actor: 'test', reason: 'incident' });
    expect(await endsSoon(s)).toBe('ended');
  });
});
