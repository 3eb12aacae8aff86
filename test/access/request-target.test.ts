/**
 * The access gateway end to end over real sockets: the policy judges exactly the target the upstream
 * receives, whatever form the client wrote it in (case, `;` parameters, trailing dots, NTFS streams,
 * absolute-form).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let upstream: http.Server;
const seen: string[] = [];
let fx: GatehouseFixture;

const policies = `    policies:
      - { name: no-admin, action: block, include: [{ path: ["/admin"] }] }
      - { name: open, action: bypass, include: [{ everyone: true }] }`;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end(`upstream ${req.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  fx = await startFixture({
    extraYaml: `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${upstreamUrl}
${policies}
  - name: files
    host: files.acme.localhost
    upstream: ${upstreamUrl}
    case_sensitive_paths: true
${policies}
`,
  });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((resolve) => upstream.close(resolve));
});

/** Sends the bytes as written (no client library normalises the target) and returns status and body. */
function raw(target: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(fx.port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}

const host = (app: string) => `${app}.acme.localhost:${fx.port}`;

/** The `reason` of the gateway's refusal log lines since `from`. */
function refusalReasons(from: number): string[] {
  return fx.logs
    .slice(from)
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.includes('request refused'))
    .map((line) => (JSON.parse(line) as { reason: string }).reason);
}

async function deniedPolicies(): Promise<unknown[]> {
  const events = await fx.gatehouse.core.audit.list({ type: 'access.denied' });
  return events.map((event) => [event.code, event.detail.policy]);
}

describe('path case follows apps[].case_sensitive_paths', () => {
  it.each(['/ADMIN', '/Admin/users', '/%41dmin', '/aDMIN?x=1'])('by default %j meets the block on /admin: 403 policy_matched', async (path) => {
    const before = seen.length;
    const audited = (await deniedPolicies()).length;
    const response = await raw(path, host('wiki'));
    expect(response.status).toBe(403);
    expect(seen.length).toBe(before);
    expect((await deniedPolicies()).slice(audited)).toEqual([['policy_matched', 'no-admin']]);
  });

  it('a case-sensitive app forwards /ADMIN as a different path and still blocks /admin', async () => {
    expect(await raw('/ADMIN/x', host('files'))).toMatchObject({ status: 200, text: expect.stringContaining('upstream /ADMIN/x') });
    expect((await raw('/admin/x', host('files'))).status).toBe(403);
  });
});

describe('paths an upstream could route differently are refused before the policy', () => {
  it.each([
    ['/admin/..;/x', 'path_parameters'],
    ['/public/..;/admin', 'path_parameters'],
    ['/admin;jsessionid=1', 'path_parameters'],
    ['/admin.', 'path_trailing_dot_or_space'],
    ['/admin%2e', 'path_trailing_dot_or_space'],
    ['/admin%20', 'path_trailing_dot_or_space'],
    ['/admin%09', 'path_trailing_dot_or_space'],
    ['/admin::$DATA', 'path_ntfs_stream'],
    ['/admin%3a%3a%24Data', 'path_ntfs_stream'],
    ['/admin%5c', 'path_backslash'],
    ['/x\\..\\admin', 'path_backslash'],
  ])('%j: 400 %s, and the upstream sees nothing', async (path, code) => {
    const before = seen.length;
    const logged = fx.logs.length;
    const response = await raw(path, host('wiki'));
    expect(response.status).toBe(400);
    expect(refusalReasons(logged)).toEqual([code]);
    expect(seen.length).toBe(before);
  });
});

describe('absolute-form request targets (RFC 9112 §3.2.2)', () => {
  it('naming the Host: accepted, judged and forwarded in origin-form', async () => {
    const response = await raw(`http://${host('wiki')}/page?x=1`, host('wiki'));
    expect(response).toMatchObject({ status: 200, text: expect.stringContaining('upstream /page?x=1') });
    expect(seen.at(-1)).toBe('/page?x=1');
    expect((await raw(`http://${host('wiki')}/ADMIN`, host('wiki'))).status).toBe(403);
  });

  it('naming another host: 400 request_target_host_mismatch, and the upstream sees nothing', async () => {
    const before = seen.length;
    const logged = fx.logs.length;
    const response = await raw(`http://${host('files')}/page`, host('wiki'));
    expect(response.status).toBe(400);
    expect(refusalReasons(logged)).toEqual(['request_target_host_mismatch']);
    expect(seen.length).toBe(before);
  });
});
