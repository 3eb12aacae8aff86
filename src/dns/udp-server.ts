/** UDP front end (RFC 1035 §4.2.1): one datagram in, at most one out; never throws on input. */
import dgram from 'node:dgram';
import net from 'node:net';
import type { QueryHandler } from './query-handler.js';

export interface UdpServer {
  start(): Promise<number>;
  stop(): Promise<void>;
}

export function createUdpServer(options: { address: string; port: number; handler: QueryHandler; onError: (error: unknown) => void }): UdpServer {
  const { address, port, handler, onError } = options;
  const family = net.isIPv6(address) ? 6 : 4;
  const socket = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    recvBufferSize: 4 * 1024 * 1024,
    // Every address this socket meets is an IP literal (the bind address, checked by the config schema;
    // each reply's destination, the query's source from rinfo): there is no name to resolve. The default
    // lookup (dns.lookup) would still test it with a regular expression and defer every send to the next
    // tick, about 2 % of the CPU a cached answer costs.
    lookup: (host, _options, callback) => callback(null, host, family),
  });
  const send = (reply: Buffer | null, rport: number, raddress: string) => {
    if (!reply) return;
    try {
      socket.send(reply, rport, raddress);
    } catch (error) {
      // The socket closed while an upstream answer was pending (stop()); the reply has nowhere to go.
      onError(error);
    }
  };
  socket.on('message', (msg, rinfo) => {
    try {
      const reply = handler.handle(msg, { address: rinfo.address, protocol: 'udp' });
      if (reply instanceof Promise) reply.then((r) => send(r, rinfo.port, rinfo.address), onError);
      else send(reply, rinfo.port, rinfo.address);
    } catch (error) {
      // A bug must cost one query, not the process.
      onError(error);
    }
  });
  return {
    start: () =>
      new Promise<number>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, address, () => {
          socket.off('error', reject);
          socket.on('error', onError);
          resolve(socket.address().port);
        });
      }),
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
