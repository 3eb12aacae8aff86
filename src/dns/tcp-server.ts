/**
 * TCP front end (RFC 7766): 2-byte length-prefixed messages, several queries per connection answered as
 * they complete (§6.2.1.1 allows out-of-order replies; the ID matches them), an idle timeout (§6.2.3),
 * and caps on connections and on queries in flight per connection so one client cannot hold the
 * resolver's memory.
 */
import net from 'node:net';
import type { QueryHandler } from './query-handler.js';

export interface TcpServerOptions {
  address: string;
  port: number;
  handler: QueryHandler;
  idleTimeoutMs: number;
  maxConnections: number;
  onError: (error: unknown) => void;
}

const MAX_IN_FLIGHT = 64;

export function createTcpServer(options: TcpServerOptions) {
  const { handler, onError } = options;
  const server = net.createServer({ noDelay: true });
  server.maxConnections = options.maxConnections;
  const sockets = new Set<net.Socket>();

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
    const address = socket.remoteAddress ?? '';
    let buffered: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    const write = (reply: Buffer | null) => {
      inFlight--;
      if (!reply || socket.destroyed) return;
      const frame = Buffer.allocUnsafe(2 + reply.length);
      frame.writeUInt16BE(reply.length, 0);
      reply.copy(frame, 2);
      socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = Buffer.from(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        if (++inFlight > MAX_IN_FLIGHT) {
          socket.destroy();
          return;
        }
        try {
          const reply = handler.handle(message, { address, protocol: 'tcp' });
          if (reply instanceof Promise) reply.then(write, (error) => { inFlight--; onError(error); });
          else write(reply);
        } catch (error) {
          inFlight--;
          onError(error);
        }
      }
    });
  });

  return {
    start: (port = options.port) =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, options.address, () => {
          server.off('error', reject);
          server.on('error', onError);
          resolve((server.address() as net.AddressInfo).port);
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
