/**
 * Forwards cache misses to the configured upstream resolvers: UDP first, the same upstream over TCP when
 * the reply is truncated (RFC 7766 §5), a timeout per attempt, further attempts on the next upstream
 * (failover that sticks to the last one that answered), and an error when every attempt failed (the
 * caller answers SERVFAIL) that says whether any upstream replied at all. Replies are accepted only from
 * the address and port asked, with the random ID and the exact question sent (RFC 5452 §4); each upstream
 * has a pool of sockets on distinct ephemeral ports, chosen at random per query, for source-port entropy
 * against off-path spoofing. The sockets are connected: the kernel then drops datagrams from any other
 * source, and an ICMP port unreachable comes back as ECONNREFUSED, so a stopped upstream fails its
 * attempt in milliseconds instead of at the timeout (an unconnected socket never sees the ICMP error).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { GatehouseError } from '../lib/errors.js';
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
  reject: (error: Error) => void;
}

/** An attempt that got no usable reply at all: timeout, ICMP unreachable, refused or reset connection. */
class NoReplyError extends Error {}

/**
 * Every attempt failed. `unreachable`: none of them got any reply (the upstreams are down or cut off),
 * as opposed to replies the gateway could not use (SERVFAIL, REFUSED, a bad TCP reply), which are about
 * the name asked.
 */
export class UpstreamsFailedError extends GatehouseError {
  constructor(readonly unreachable: boolean, detail: string) {
    super(unreachable ? 'dns_upstream_unreachable' : 'dns_upstream_failed', { status: 502, publicMessage: 'The upstream resolvers did not answer.', detail });
    this.name = 'UpstreamsFailedError';
  }
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
  /** Indexed like `options.upstreams`: that upstream's connected sockets. */
  private pools: PoolSocket[][] = [];
  private preferred = 0;
  private randomPool: Buffer = Buffer.alloc(0);
  private randomOffset = 0;

  constructor(private readonly options: UpstreamForwarderOptions) {
    if (options.upstreams.length === 0) throw new Error('at least one upstream resolver is required');
  }

  async start(): Promise<void> {
    const pools: PoolSocket[][] = [];
    try {
      for (const upstream of this.options.upstreams) {
        const pool: PoolSocket[] = [];
        pools.push(pool);
        for (let i = 0; i < this.options.sockets; i++) pool.push(await this.openSocket(upstream));
      }
    } catch (error) {
      for (const pool of pools) for (const { socket } of pool) socket.close();
      throw error;
    }
    this.pools = pools;
  }

  private async openSocket(upstream: UpstreamAddress): Promise<PoolSocket> {
    const socket = dgram.createSocket({ type: net.isIPv6(upstream.host) ? 'udp6' : 'udp4' });
    const pending = new Map<number, Pending>();
    // Connected: only the upstream's address and port can reach this socket (RFC 5452 §4).
    socket.on('message', (msg) => {
      if (msg.length < 2) return;
      pending.get(msg.readUInt16BE(0))?.resolve(msg);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => socket.connect(upstream.port, upstream.host, (error?: Error) => {
        socket.off('error', reject);
        if (error) reject(error);
        else resolve();
      }));
    });
    // ICMP port or host unreachable for this upstream (ECONNREFUSED, EHOSTUNREACH): every query waiting
    // on the socket went to the same dead address, so all of them fail now.
    socket.on('error', (error) => {
      const failed = new NoReplyError(error.message);
      for (const entry of [...pending.values()]) entry.reject(failed);
    });
    return { socket, pending };
  }

  stop(): void {
    for (const pool of this.pools) for (const { socket } of pool) socket.close();
    this.pools = [];
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
    let unreachable = true;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const index = (this.preferred + attempt) % upstreams.length;
      const upstream = upstreams[index]!;
      const label = `${upstream.host}:${upstream.port}`;
      const started = this.options.now();
      try {
        let answer = await this.askUdp(index, name, qtype, qclass, dnssecOk);
        if (answer.truncated) answer = await this.askTcp(upstream, name, qtype, qclass, dnssecOk);
        // SERVFAIL/REFUSED/NOTIMP from one upstream says nothing about the name: try the next.
        if (answer.rcode !== RCODE_NOERROR && answer.rcode !== RCODE_NXDOMAIN) throw new Error(`rcode ${answer.rcode}`);
        this.preferred = index;
        return { answer, upstream: label, latencyMs: this.options.now() - started };
      } catch (error) {
        if (!(error instanceof NoReplyError)) unreachable = false;
        lastError = `${label}: ${(error as Error).message}`;
        this.options.onAttemptFailed?.(label, (error as Error).message);
      }
    }
    throw new UpstreamsFailedError(unreachable, `every upstream attempt failed (last: ${lastError})`);
  }

  private askUdp(index: number, name: string, qtype: number, qclass: number, dnssecOk: boolean): Promise<UpstreamAnswer> {
    const pool = this.pools[index];
    if (!pool || pool.length === 0) return Promise.reject(new Error('forwarder not started'));
    const { socket, pending: table } = pool[this.randomUint16() % pool.length]!;
    let id = this.randomUint16();
    for (let tries = 0; table.has(id) && tries < 16; tries++) id = this.randomUint16();
    if (table.has(id)) return Promise.reject(new Error('too many queries in flight'));
    const query = buildUpstreamQuery(id, name, qtype, qclass, dnssecOk);
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(id);
        reject(new NoReplyError('timeout'));
      }, this.options.timeoutMs);
      table.set(id, {
        reject: (error) => {
          clearTimeout(timer);
          table.delete(id);
          reject(error);
        },
        resolve: (reply) => {
          const answer = readUpstreamAnswer(reply, { id, name, qtype, qclass });
          // A reply that fails the checks may be a spoof: ignore it and keep waiting for the real one.
          if (typeof answer === 'string') return;
          clearTimeout(timer);
          table.delete(id);
          resolve(answer);
        },
      });
      socket.send(query, (error) => {
        if (error) {
          clearTimeout(timer);
          table.delete(id);
          reject(new NoReplyError(error.message));
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
        reject(new NoReplyError(why));
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
      socket.on('close', () => reject(new NoReplyError('tcp closed before a reply')));
    });
  }
}
