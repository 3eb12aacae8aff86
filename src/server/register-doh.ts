import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify';
import type { DnsConfig } from '../config/index.js';
import type { DnsLayer } from '../dns/index.js';

const DNS_MESSAGE = 'application/dns-message';

/**
 * DNS over HTTPS (RFC 8484) on the portal listeners: `GET <path>?dns=<base64url>` and `POST <path>` with
 * an application/dns-message body; `<path>/<token>` is a personal URL (queries logged with the user).
 */
export function registerDoh(app: FastifyInstance, dns: DnsLayer, config: DnsConfig, clientIp: (request: FastifyRequest) => string): void {
  // The routes are mounted whether or not the gateway runs: a reload may start or stop it, and each
  // request follows the gateway in force. While it is off the answer is the router's own 404, so an
  // unused path reveals nothing. The path itself is restart-only (dns.doh_path).
  // RFC 8484 §6: a DNS message is at most 65535 octets.
  app.addContentTypeParser(DNS_MESSAGE, { parseAs: 'buffer', bodyLimit: 65_535 }, (_request, body, done) => done(null, body));
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const gateway = dns.gateway;
    if (!gateway) return reply.callNotFound();
    const params = request.params as { token?: string };
    const response = await gateway.handleDohRequest({
      method: request.method,
      path: request.url.split('?')[0] ?? config.doh_path,
      ...(params.token ? { token: params.token } : {}),
      query: request.query as Record<string, string>,
      body: Buffer.isBuffer(request.body) ? request.body : null,
      headers: request.headers,
      // The trusted-proxy rule's client (anonymous DoH is allowed from loopback only): never a spoofed header.
      remoteAddress: clientIp(request),
    });
    return reply.code(response.status).headers(response.headers).send(Buffer.from(response.body));
  };
  // Every method reaches the handler, which answers anything but GET and POST with 405 and an Allow
  // header (RFC 8484 §4.1, RFC 9110 §15.5.6) instead of the router's 404.
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
  for (const url of [config.doh_path, `${config.doh_path}/:token`]) app.route({ method: [...methods], url, handler });
}
