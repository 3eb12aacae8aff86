import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';
import { GatehouseError } from '../lib/errors.js';
import type { StoredCliCredential } from './cli-credentials-file.js';
import { loopbackAwareLookup } from './portal-client.js';

const LOGIN_AGAIN = 'Run `gatehouse login`.';

function readBody(res: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text = text.length > 65_536 ? text : text + chunk));
    res.on('end', () => {
      try {
        resolve(JSON.parse(text) as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
    res.on('error', () => resolve({}));
  });
}

/** The portal's refusal of a tunnel as the message the person needs: sign in again, or the policy's reason. */
export function tunnelRefusalOf(app: string, status: number, body: Record<string, unknown>): GatehouseError {
  const code = typeof body.code === 'string' ? body.code : `http_${status}`;
  const message = typeof body.message === 'string' ? body.message : `The portal refused the tunnel (${status}).`;
  if (code.startsWith('cli_credential_')) return new GatehouseError(code, { status: 401, publicMessage: `Your command-line sign-in is not valid any more. ${LOGIN_AGAIN}` });
  if (code === 'tunnel_policy_denied' || code === 'tunnel_step_up_required') {
    const reason = typeof body.reason === 'string' ? body.reason : 'denied';
    const hint = code === 'tunnel_step_up_required' ? ` ${LOGIN_AGAIN} and touch your key.` : '';
    return new GatehouseError(code, { status: 403, publicMessage: `The access policy of TCP app "${app}" refused the tunnel (${reason}).${hint}` });
  }
  return new GatehouseError(code, { status: status >= 500 ? 503 : 403, publicMessage: `${message} (${code})` });
}

/**
 * One tunnel: a WebSocket to `/cli/tunnel/<app>` with the stored credential as a bearer header (never
 * a cookie), as a byte stream. Rejects with the portal's refusal, mapped for the person.
 */
export function openTunnelStream(stored: StoredCliCredential, app: string, now = Date.now()): Promise<Duplex> {
  if (now >= stored.expiresAt) return Promise.reject(new GatehouseError('cli_credential_expired', { status: 401, publicMessage: `Your command-line sign-in expired. ${LOGIN_AGAIN}` }));
  const url = new URL(`/cli/tunnel/${encodeURIComponent(app)}`, stored.portal);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${stored.credential}` }, perMessageDeflate: false, handshakeTimeout: 30_000, lookup: loopbackAwareLookup });
    ws.once('unexpected-response', (_req, res) => {
      void readBody(res).then((body) => {
        ws.terminate();
        reject(tunnelRefusalOf(app, res.statusCode ?? 0, body));
      });
    });
    ws.once('error', (error) => reject(new GatehouseError('portal_unreachable', { status: 503, publicMessage: `Cannot open a tunnel through ${url.origin}.`, detail: error.message })));
    ws.once('open', () => {
      // Small messages go out at once (interactive SSH, database round trips).
      (ws as unknown as { _socket?: { setNoDelay(on: boolean): void } })._socket?.setNoDelay(true);
      const stream = createWebSocketStream(ws);
      // ws's stream ends, but never closes, when the server closes the tunnel (revocation, idle): close it
      // once what arrived has been read, so whoever holds it sees 'close'.
      ws.once('close', () => {
        if (stream.readableEnded) stream.destroy();
        else {
          stream.once('end', () => stream.destroy());
          setTimeout(() => stream.destroy(), 5000).unref();
        }
      });
      resolve(stream);
    });
  });
}
