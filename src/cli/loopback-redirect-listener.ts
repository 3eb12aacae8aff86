import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatehouseError } from '../lib/errors.js';
import { constantTimeEqual } from '../lib/secret-hash.js';

const CALLBACK_PATH = '/callback';
const DONE_PAGE = '<!doctype html><meta charset="utf-8"><title>Gatehouse</title><p>The command line is signed in. You can close this page.</p>';
const FAILED_PAGE = '<!doctype html><meta charset="utf-8"><title>Gatehouse</title><p>The command line was not signed in. Go back to the terminal.</p>';

export interface LoopbackRedirectListener {
  /** `http://127.0.0.1:PORT/callback`: RFC 8252 §7.3, an IP literal and a port chosen now. */
  redirectUri: string;
  /** The code of the first redirect whose `state` matches; rejects on a refusal or after `timeoutMs`. */
  code: Promise<string>;
  close(): void;
}

/**
 * The command line's end of the loopback redirect: a listener on 127.0.0.1 only (never all
 * interfaces: another machine must not be able to deliver a code), on a random port, that takes one
 * redirect carrying the expected `state` (RFC 6749 §10.12: a redirect this run did not start is
 * ignored) and then closes.
 */
export async function listenForLoopbackRedirect(options: { state: string; timeoutMs: number }): Promise<LoopbackRedirectListener> {
  let settle: { resolve: (code: string) => void; reject: (error: Error) => void } | undefined;
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  // Nobody may await `code` before a failure: keep the rejection from being unhandled meanwhile.
  code.catch(() => {});
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('referrer-policy', 'no-referrer');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const state = url.searchParams.get('state') ?? '';
    if (!constantTimeEqual(state, options.state)) {
      res.statusCode = 400;
      res.end(FAILED_PAGE);
      return;
    }
    const received = url.searchParams.get('code');
    const error = url.searchParams.get('error');
    res.statusCode = received ? 200 : 400;
    res.end(received ? DONE_PAGE : FAILED_PAGE);
    if (received) settle?.resolve(received);
    else settle?.reject(new GatehouseError('cli_login_refused', { status: 403, publicMessage: `The portal did not sign the command line in${error ? ` (${error.slice(0, 64)})` : ''}.` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const timer = setTimeout(
    () => settle?.reject(new GatehouseError('cli_login_timeout', { status: 408, publicMessage: `No sign-in arrived within ${Math.round(options.timeoutMs / 60_000)} minutes: run \`gatehouse login\` again.` })),
    options.timeoutMs,
  );
  const close = () => {
    clearTimeout(timer);
    server.close();
    server.closeAllConnections();
  };
  void code.then(close, close);
  return { redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`, code, close };
}
