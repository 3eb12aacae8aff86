/**
 * The benchmark's upstream app: node:http answering every request with a small body. Its own
 * process; prints `{"port":N}` once listening and serves until SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from('hello from the upstream app\n');
const server = http.createServer((req, res) => {
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
