/**
 * TCP tunnels through the access proxy (`tcp.apps`, `gatehouse tunnel APP`): a WebSocket on the portal
 * host, authorised with the command line's credential and the app's policies, piped to the app's
 * configured upstream. The threat model is on `createTcpTunnels`.
 */
export { createTcpTunnels, type TcpTunnels, type TcpTunnelsDeps } from './create-tcp-tunnels.js';
export { TCP_POLICY_METHOD, TunnelRefusal } from './tcp-tunnel-policy.js';
