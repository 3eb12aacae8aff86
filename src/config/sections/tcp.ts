import { z } from 'zod';
import { policySchema } from './apps.js';

/**
 * `tcp:` section: TCP services reached through the access proxy (`gatehouse tunnel APP`). Like an `ssh`
 * app, a `tcp` app has no host (the proxy never serves it over HTTP), so it lives here rather than in
 * `apps:`. Its upstream comes from config only: the client names the app, never a host or a port, so
 * the portal is no open proxy.
 */
const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// host:port, with a bracketed IPv6 literal: [::1]:5432.
const UPSTREAM = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})$/;

const tcpAppSchema = z
  .strictObject({
    name: z.string().regex(APP_NAME, 'app name must be a slug: lower-case letters, digits and "-", at most 63 characters').describe('Name given to `gatehouse tunnel NAME`, and written in the audit log.'),
    upstream: z
      .string()
      .regex(UPSTREAM, 'upstream must be host:port (an IPv6 address in brackets)')
      .refine((value) => {
        const port = Number(UPSTREAM.exec(value)?.[1]);
        return port >= 1 && port <= 65535;
      }, 'the port must be 1-65535')
      .describe('host:port the proxy connects each tunnel to. The only target a tunnel of this app can reach.'),
    policies: z
      .array(policySchema)
      .min(1, 'policies needs at least one entry')
      .describe('Ordered: the first policy that matches decides; none matching denies. The request is method `TCP`, path `/`, from the client address of the tunnel.'),
    idle_timeout_seconds: z.number().int().min(10).max(86_400).default(3600).describe('A tunnel with no byte either way for this long is closed (a half-open stream holds a socket and a slot).'),
    max_tunnels_per_user: z.number().int().min(1).max(1024).default(32).describe('Open tunnels of this app one user may hold on one instance; one more is refused with `tunnel_limit`. Counted per instance, like the sockets and memory it protects: behind N instances a user may hold up to N times this (docs/ssh.md).'),
    connect_timeout_ms: z.number().int().min(100).max(60_000).default(5000).describe('How long the proxy waits for the upstream to accept a connection.'),
  })
  .superRefine((app, ctx) => {
    app.policies.forEach((policy, i) => {
      // A bypass lets anyone in without an identity: a tunnel always belongs to a signed-in person.
      if (policy.action === 'bypass') ctx.addIssue({ code: 'custom', path: ['policies', i, 'action'], message: 'a tcp app tunnels for people: use allow or block, not bypass' });
    });
  });

export const tcpSchema = z
  .strictObject({
    apps: z
      .array(tcpAppSchema)
      .max(256)
      .default([])
      .describe('TCP apps: each one\'s access policies decide who may open a tunnel to its upstream through `gatehouse tunnel NAME` (SSH through ProxyCommand, databases…).'),
  })
  .superRefine((section, ctx) => {
    const names = new Set<string>();
    section.apps.forEach((app, index) => {
      if (names.has(app.name)) ctx.addIssue({ code: 'custom', path: ['apps', index, 'name'], message: `tcp app "${app.name}" is defined twice` });
      names.add(app.name);
    });
  });

export type TcpConfig = z.infer<typeof tcpSchema>;
export type TcpAppConfig = TcpConfig['apps'][number];

/** The host and port of an upstream the schema accepted. */
export function tcpUpstreamOf(upstream: string): { host: string; port: number } {
  const cut = upstream.lastIndexOf(':');
  return { host: upstream.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), port: Number(upstream.slice(cut + 1)) };
}
