/**
 * The floor of a WebSocket tunnel in Node, for bench:tunnel's baseline rows: the same two hops as
 * `gatehouse tunnel --stdio` and the access proxy (a ProxyCommand process speaking RFC 6455 as a client,
 * a server process relaying frames to the TCP upstream), with the same library (ws, bufferutil) and
 * nothing else: no credential, policy, audit, byte counting or server framework. What Gatehouse costs
 * beyond it is Gatehouse's; what it costs below direct scp is the design's (two relays on the machine).
 *
 *   node bare-ws-relay.mjs server UPSTREAM_PORT   prints the port it listens on (127.0.0.1), then relays
 *   node bare-ws-relay.mjs client PORT            stdin/stdout through one WebSocket (a ProxyCommand)
 *
 * Plain JavaScript so that every scp start pays only Node's start, as the built CLI does.
 */
import { connect } from 'node:net';
import { createWebSocketStream, WebSocket, WebSocketServer } from 'ws';

const [mode, port] = process.argv.slice(2);
// As Gatehouse does at start (src/lib/keep-freed-heap.ts): keep glibc from trimming the heap at every GC,
// so that this floor is not worse than what it is compared with.
Buffer.allocUnsafeSlow(32 * 1024 * 1024 - 64 * 1024);

if (mode === 'server') {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  server.on('listening', () => process.stdout.write(`${server.address().port}\n`));
  server.on('connection', (ws) => {
    const upstream = connect(Number(port), '127.0.0.1');
    upstream.setNoDelay(true);
    const stream = createWebSocketStream(ws);
    stream.pipe(upstream);
    upstream.pipe(stream);
    const close = () => {
      upstream.destroy();
      stream.destroy();
    };
    stream.once('error', close);
    upstream.once('error', close);
    upstream.once('close', close);
    stream.once('close', close);
  });
} else if (mode === 'client') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  ws.once('open', () => {
    ws._socket.setNoDelay(true);
    const stream = createWebSocketStream(ws);
    process.stdin.pipe(stream);
    stream.pipe(process.stdout);
    stream.once('close', () => process.exit(0));
    stream.once('error', () => process.exit(1));
  });
  ws.once('error', () => process.exit(1));
} else {
  process.stderr.write('usage: bare-ws-relay.mjs server UPSTREAM_PORT | client PORT\n');
  process.exit(2);
}
