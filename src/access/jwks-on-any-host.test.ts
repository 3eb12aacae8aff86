import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerJwksOnAnyHost } from './jwks-on-any-host.js';

const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1', alg: 'ES256', use: 'sig' }] };
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (!answerJwksOnAnyHost(req, res, () => jwks)) res.writeHead(404).end('not mine');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('JWKS on any host', () => {
  it('answers GET and HEAD of the well-known path, whatever the Host', async () => {
    const got = await fetch(`${base}/.well-known/jwks.json?x=1`, { headers: { host: 'anything.example' } });
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await got.json()).toEqual(jwks);
    const head = await fetch(`${base}/.well-known/jwks.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('leaves every other method and path to the next handler', async () => {
    expect((await fetch(`${base}/.well-known/jwks.json`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${base}/.well-known/jwks.json/extra`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(404);
  });
});
