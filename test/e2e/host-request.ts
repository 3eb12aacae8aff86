/**
 * A plain Node HTTP client for the attacker's (and the admin's) side of the end-to-end tests. Node
 * cannot resolve `*.localhost`, so it connects to 127.0.0.1 and names the site in the Host header,
 * exactly as a request to that name would arrive.
 */
import http from 'node:http';

export interface HostResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Cookies the response sets, name to value (an empty value means "cleared"). */
  setCookies: Record<string, string>;
}

export interface HostRequest {
  /** `host:port` as it would appear in the browser's address bar. */
  authority: string;
  method?: string;
  path: string;
  cookies?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
}

export async function hostRequest(request: HostRequest): Promise<HostResponse> {
  const port = Number(request.authority.slice(request.authority.lastIndexOf(':') + 1));
  const headers: Record<string, string> = { host: request.authority, ...request.headers };
  const cookie = Object.entries(request.cookies ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] = 'application/json';
  } else if (request.form) {
    body = new URLSearchParams(request.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method: request.method ?? 'GET', path: request.path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const setCookies: Record<string, string> = {};
        for (const line of response.headers['set-cookie'] ?? []) {
          const [pair = ''] = line.split(';');
          const at = pair.indexOf('=');
          if (at > 0) setCookies[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'), setCookies });
      });
    });
    outgoing.setTimeout(15_000, () => outgoing.destroy(new Error(`no answer from ${request.authority}${request.path} in 15 s`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The CSRF token a page embeds for its scripts (`<meta name="csrf-token">`). */
export function csrfMetaOf(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]*)">/.exec(html);
  if (!match?.[1]) throw new Error('page has no CSRF token');
  return match[1];
}
