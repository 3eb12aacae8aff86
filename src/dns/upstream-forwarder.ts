/**
 * Forwards cache misses to the configured upstream resolvers: UDP first, the same upstream over TCP when
 * the reply is truncated (RFC 7766 §5), a timeout per attempt, further attempts on the next upstream
 * (failover that sticks to the last one that answered), and an error when every attempt failed (the
 * caller answers SERVFAIL). Replies are accepted only from the address and port asked, with the random
 * ID and the exact question sent (RFC 5452 §4); a pool of sockets on distinct ephemeral ports, chosen at
 * random per query, adds source-port entropy against off-path spoofing.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Random } from '../lib/random.js';
import { readUpstreamAnswer, type UpstreamAnswer } from './upstream-answer.js';
import { RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_OPT } from './wire-query.js';

export interface UpstreamAddress {
  host: string;
  port: number;
}

export interface ForwardResult {
  answer: UpstreamAnswer;
  upstream: string;
  latencyMs: number;
}

export interface UpstreamForwarderOptions {
  upstreams: UpstreamAddress[];
  timeoutMs: number;
  retries: number;
  sockets: number;
  random: Random;
  now: () => number;
  onAttemptFailed?: (upstream: string, why: string) => void;
}

interface Pending {
  resolve: (reply: Buffer) => void;
  host: string;
  port: number;
}

/** RFC 1035 §3.1 wire name from a lower-case dotted name. */
function encodeQuestion(name: string, qtype: number, qclass: number): Buffer {
  const labels = name === '' ? [] : name.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, qclass >> 8, qclass & 0xff]));
  return Buffer.concat(parts);
}

export function buildUpstreamQuery(id: number, name: string, qtype: number, qclass: number, dnssecOk: boolean): Buffer {
  const question = encodeQuestion(name, qtype, qclass);
  const out = Buffer.alloc(12 + question.length + 11);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(0x0100, 2); // RD
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  question.copy(out, 12);
  const opt = 12 + question.length;
  out.writeUInt16BE(TYPE_OPT, opt + 1);
  out.writeUInt16BE(1232, opt + 3);
  out[opt + 7] = dnssecOk ? 0x80 : 0;
  return out;
}

interface PoolSocket {
  socket: dgram.Socket;
  pending: Map<number, Pending>;
}

export class UpstreamForwarder {
  private readonly pools = new Map<'udp4' | 'udp6', PoolSocket[]>();
  private preferred = 0;
  private randomPool: Buffer = Buffer.alloc(0);
  private randomOffset = 0;

  constructor(private readonly options: UpstreamForwarderOptions) {
    if (options.upstreams.length === 0) throw new Error('at least one upstream resolver is required');
  }

  async start(): Promise<void> {
    const families = new Set(this.options.upstreams.map((u): 'udp4' | 'udp6' => (net.isIPv6(u.host) ? 'udp6' : 'udp4')));
    for (const family of families) {
      const pool: PoolSocket[] = [];
      for (let i = 0; i < this.options.sockets; i++) pool.push(await this.openSocket(family));
      this.pools.set(family, pool);
    }
  }

  private async openSocket(family: 'udp4' | 'udp6'): Promise<PoolSocket> {
    const socket = dgram.createSocket({ type: family });
    const pending = new Map<number, Pending>();
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 2) return;
      const entry = pending.get(msg.readUInt16BE(0));
      if (!entry || entry.port !== rinfo.port || entry.host !== rinfo.address) return;
      entry.resolve(msg);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // After bind, a send error (ICMP unreachable) surfaces on the socket: the attempt times out instead.
    socket.on('error', () => undefined);
    return { socket, pending };
  }

  stop(): void {
    for (const pool of this.pools.values()) for (const { socket } of pool) socket.close();
    this.pools.clear();
  }

  private randomUint16(): number {
    if (this.randomOffset + 2 > this.randomPool.length) {
      this.randomPool = this.options.random.bytes(4096);
      this.randomOffset = 0;
    }
    const value = this.randomPool.readUInt16BE(this.randomOffset);
    this.randomOffset += 2;
    return value;
  }

  async forward(name: string, qtype: number, qclass: number, dnssecOk: boolean): Promise<ForwardResult> {
    const { upstreams, retries } = this.options;
    let lastError = 'no attempt made';
    for (let attempt = 0; attempt <= retries; attempt++) {
      const index = (this.preferred + attempt) % upstreams.length;
      const upstream = upstreams[index]!;
      const label = `${upstream.host}:${upstream.port}`;
      const started = this.options.now();
      try {
        let answer = await this.askUdp(upstream, name, qtype, qclass, dnssecOk);
        if (answer.truncated) answer = await this.askTcp(upstream, name, qtype, qclass, dnssecOk);
        // SERVFAIL/REFUSED/NOTIMP from one upstream says nothing about the name: try the next.
        if (answer.rcode !== RCODE_NOERROR && answer.rcode !== RCODE_NXDOMAIN) throw new Error(`rcode ${answer.rcode}`);
        this.preferred = index;
        return { answer, upstream: label, latencyMs: this.options.now() - started };
      } catch (error) {
        lastError = `${label}: ${(error as Error).message}`;
        this.options.onAttemptFailed?.(label, (error as Error).message);
      }
    }
    throw new Error(`every upstream attempt failed (last: ${lastError})`);
  }

  private askUdp(upstream: UpstreamAddress, name: string, qtype: number, qclass: number, dnssecOk: boolean): Promise<UpstreamAnswer> {
    const pool = this.pools.get(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
    if (!pool || pool.length === 0) return Promise.reject(new Error('forwarder not started'));
    const { socket, pending: table } = pool[this.randomUint16() % pool.length]!;
    let id = this.randomUint16();
    for (let tries = 0; table.has(id) && tries < 16; tries++) id = this.randomUint16();
    if (table.has(id)) return Promise.reject(new Error('too many queries in flight'));
    const query = buildUpstreamQuery(id, name, qtype, qclass, dnssecOk);
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(id);
        reject(new Error('timeout'));
      }, this.options.timeoutMs);
      table.set(id, {
        host: upstream.host,
        port: upstream.port,
        resolve: (reply) => {
          const answer = readUpstreamAnswer(reply, { id, name, qtype, qclass });
          // A reply that fails the checks may be a spoof: ignore it and keep waiting for the real one.
          if (typeof answer === 'string') return;
          clearTimeout(timer);
          table.delete(id);
          resolve(answer);
        },
      });
      socket.send(query, upstream.port, upstream.host, (error) => {
        if (error) {
          clearTimeout(timer);
          table.delete(id);
          reject(error);
        }
      });
    });
  }

  private askTcp(upstream: UpstreamAddress, name: string, qtype: number, qclass: number, dnssecOk: boolean): Promise<UpstreamAnswer> {
    const id = this.randomUint16();
    const query = buildUpstreamQuery(id, name, qtype, qclass, dnssecOk);
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const socket = net.connect({ host: upstream.host, port: upstream.port });
      let buffered = Buffer.alloc(0);
      const fail = (why: string) => {
        socket.destroy();
        reject(new Error(why));
      };
      socket.setTimeout(this.options.timeoutMs, () => fail('tcp timeout'));
      socket.on('error', (error) => fail(`tcp ${error.message}`));
      socket.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        socket.write(frame);
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2) return;
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        socket.destroy();
        const answer = readUpstreamAnswer(buffered.subarray(2, 2 + length), { id, name, qtype, qclass });
        if (typeof answer === 'string') reject(new Error(`tcp reply rejected: ${answer}`));
        else if (answer.truncated) reject(new Error('tcp reply truncated'));
        else resolve(answer);
      });
      socket.on('close', () => reject(new Error('tcp closed before a reply')));
    });
  }
}
