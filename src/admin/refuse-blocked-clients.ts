import type { FastifyInstance, FastifyRequest } from 'fastify';
import { messagePage, PORTAL_CSP } from '../portal/index.js';

/**
 * Addresses blocked at run time (incident indicators, `gatehouse ip block`) are refused by the portal
 * and the admin API too, not only by the apps behind the proxy: an attacker's relay must not even
 * reach the sign-in endpoints. Health and metrics stay reachable for the load balancer.
 */
export function refuseBlockedClients(
  app: FastifyInstance,
  isBlocked: (ip: string) => boolean,
  clientIp: (request: FastifyRequest) => string,
  organisation: () => string = () => 'Gatehouse',
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz' || request.url === '/readyz') return;
    if (!isBlocked(clientIp(request))) return;
    reply.code(403).header('cache-control', 'no-store');
    if (wantsJson(request)) return reply.send({ message: BLOCKED, requestId: request.id });
    // The page is whole in itself (inline style): this client can load nothing else from here.
    return reply
      .header('content-security-policy', PORTAL_CSP)
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(
        messagePage(
          { organisation: organisation(), csrfToken: '' },
          {
            title: 'Your network is blocked',
            message: BLOCKED,
            next: 'Your security team blocked this network address, often after a security incident. Try again from another network (your office network, or your phone without Wi-Fi), and tell your IT team, giving them the reference below.',
            requestId: request.id,
            // A fixed path: the request's own could be "//elsewhere".
            action: { href: '/', label: 'Try again' },
          },
        ),
      );
  });
}

const BLOCKED = 'Access from your network address is blocked.';

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return request.url.startsWith('/api/') || (accept.includes('application/json') && !accept.includes('text/html'));
}
