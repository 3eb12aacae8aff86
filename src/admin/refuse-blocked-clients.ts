import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Addresses blocked at run time (incident indicators, `gatehouse ip block`) are refused by the portal
 * and the admin API too, not only by the apps behind the proxy: an attacker's relay must not even
 * reach the sign-in endpoints. Health and metrics stay reachable for the load balancer.
 */
export function refuseBlockedClients(app: FastifyInstance, isBlocked: (ip: string) => boolean, clientIp: (request: FastifyRequest) => string): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz' || request.url === '/readyz') return;
    if (!isBlocked(clientIp(request))) return;
    return reply.code(403).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('Access from your network address is blocked.\n');
  });
}
