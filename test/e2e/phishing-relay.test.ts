/**
 * The relay used by the drills must really do what a kit does, or the drills prove nothing: these
 * tests put a recording upstream behind it and check each rewrite and each piece of loot.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteSetCookie, startPhishingRelay, type PhishingRelay } from '../support/relay.js';
import { hostRequest } from './host-request.js';

describe('phishing relay (test support for the drills)', () => {
  let upstream: http.Server;
  let portal: string;
  let relay: PhishingRelay;
  let lookalike: string;
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/redirect') {
          res.writeHead(303, { location: `${portal}/account?x=1`, 'set-cookie': ['sid=s3cret; Domain=acme.localhost; Path=/; HttpOnly; Secure; SameSite=Lax'] }).end();
        } else if (req.url === '/options') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ options: { rpId: 'acme.localhost', challenge: 'abc' }, reg: { rp: { name: 'Acme', id: 'acme.localhost' } } }));
        } else {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<a href="${portal}/enroll">enrol</a> on ${portal.slice('http://'.length)}`);
        }
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    portal = `http://sso.acme.localhost:${port}`;
    relay = await startPhishingRelay({ lookalikeHost: 'acme-okta.localhost', portalHost: 'sso.acme.localhost', portalPort: port, rewriteRpId: 'acme-okta.localhost' });
    lookalike = `acme-okta.localhost:${relay.port}`;
  });

  afterAll(async () => {
    await relay?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('forwards with the portal\'s Host, Origin and Referer, and rewrites lookalike URLs in the body', async () => {
    await hostRequest({
      authority: lookalike,
      method: 'POST',
      path: '/form',
      headers: { origin: relay.origin, referer: `${relay.origin}/sign-in?a=1`, 'accept-encoding': 'gzip' },
      cookies: { gatehouse_csrf: 'tok' },
      form: { email: 'carol@acme.test', password: 'pw', return_to: `${relay.origin}/account` },
    });
    const forwarded = seen.at(-1)!;
    expect(forwarded.headers.host).toBe(new URL(portal).host);
    expect(forwarded.headers.origin).toBe(portal);
    expect(forwarded.headers.referer).toBe(`${portal}/sign-in?a=1`);
    expect(forwarded.headers['accept-encoding']).toBeUndefined();
    expect(new URLSearchParams(forwarded.body).get('return_to')).toBe(`${portal}/account`);
    // Loot: what was typed (as typed), and the cookies the browser sent.
    expect(relay.capturedField('password')).toEqual(['pw']);
    expect(relay.loot.cookies).toContainEqual({ name: 'gatehouse_csrf', value: 'tok', seen: 'request', path: '/form' });
  });

  it('points Location and body URLs back at the lookalike and keeps the cookie there', async () => {
    const redirect = await hostRequest({ authority: lookalike, path: '/redirect' });
    expect(redirect.headers.location).toBe(`${relay.origin}/account?x=1`);
    expect(redirect.headers['set-cookie']).toEqual(['sid=s3cret; Path=/; HttpOnly; SameSite=Lax']);
    expect(relay.stolenCookie('sid')).toBe('s3cret');
    const page = await hostRequest({ authority: lookalike, path: '/' });
    expect(page.body).toBe(`<a href="${relay.origin}/enroll">enrol</a> on ${lookalike}`);
    expect(Number(page.headers['content-length'])).toBe(Buffer.byteLength(page.body));
  });

  it('rewrites the RP ID in sign-in and registration options when asked', async () => {
    const options = JSON.parse((await hostRequest({ authority: lookalike, path: '/options' })).body) as Record<string, Record<string, unknown>>;
    expect(options.options).toEqual({ rpId: 'acme-okta.localhost', challenge: 'abc' });
    expect(options.reg).toEqual({ rp: { name: 'Acme', id: 'acme-okta.localhost' } });
  });

  it('keeps Secure on an https lookalike', () => {
    expect(rewriteSetCookie('a=b; Domain=x.test; Secure; HttpOnly', true)).toBe('a=b; Secure; HttpOnly');
  });
});
