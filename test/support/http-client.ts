/**
 * A small cookie-keeping HTTP client for tests: connects to 127.0.0.1 (Node cannot resolve
 * *.localhost) and sends the Host header of the URL, like a browser would, without following redirects.
 */
import { request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  location: string | undefined;
}

export class TestBrowser {
  /** host -> name -> value (host-only cookies, as the portal and apps set them). */
  readonly jar = new Map<string, Map<string, string>>();

  constructor(private readonly port: number) {}

  cookies(host: string): Map<string, string> {
    let jar = this.jar.get(host);
    if (!jar) this.jar.set(host, (jar = new Map()));
    return jar;
  }

  async fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
    const target = new URL(url);
    const jar = this.cookies(target.hostname);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await request(`http://127.0.0.1:${this.port}${target.pathname}${target.search}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: { host: target.host, ...(cookie ? { cookie } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const body = await res.body.text();
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.location as string | undefined;
    return { status: res.statusCode, headers: res.headers, body, location: location ? new URL(location, url).toString() : undefined };
  }

  /** Follows redirects (GET) up to `limit` hops; returns every reply in order. */
  async follow(url: string, limit = 10): Promise<Reply[]> {
    const replies: Reply[] = [];
    let next: string | undefined = url;
    while (next && replies.length < limit) {
      const reply = await this.fetch(next);
      replies.push(reply);
      next = reply.status >= 300 && reply.status < 400 ? reply.location : undefined;
    }
    return replies;
  }
}
