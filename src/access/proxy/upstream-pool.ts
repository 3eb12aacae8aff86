import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { UpstreamConnection } from './upstream-connection.js';
import { Exchange, type UpstreamRequest, type UpstreamResponseHandler } from './upstream-exchange.js';
import { UpstreamFailure } from './upstream-failure.js';

export type { UpstreamRequest, UpstreamResponseHandler } from './upstream-exchange.js';

export interface UpstreamPoolOptions {
  /** Most connections open at once (busy and idle); further requests queue. */
  connections: number;
  /**
   * Most requests waiting for a connection; beyond it a request fails at once (UPSTREAM_QUEUE_FULL).
   * 0: no queue. Default: unbounded, which lets a hanging upstream pile up every request for it.
   */
  maxQueued?: number;
  connectTimeoutMs: number;
  /** From the request's arrival (queue and connect time count) to the response head; upload progress restarts it. */
  headersTimeoutMs: number;
  /** Longest silence inside a response body; 0: none. Not counted while the client is the slow side. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (upstreams close theirs after ~5 s). */
  keepAliveTimeoutMs?: number;
  /** Monotonic milliseconds for every deadline (tests inject one); default `performance.now`. */
  now?: () => number;
}

// RFC 9110 §9.2.2: only these may be sent again after a connection failed under them.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * A keep-alive HTTP/1.1 client for one upstream origin, written for the proxy's hot path: the
 * request head is one write, the response head one parse, body bytes are handed on as views of the
 * socket's buffers, and timeouts are checked by one coarse timer per pool instead of a timer per
 * request. It is deliberately narrow: origin-form requests, no pipelining, no upgrades (the WebSocket
 * path opens its own connection), only `chunked` or Content-Length framing from the upstream, and
 * strict parsing everywhere the upstream and Gatehouse could disagree on where a response ends.
 */
export class UpstreamPool {
  private readonly connections = new Set<UpstreamConnection>();
  private readonly idle: UpstreamConnection[] = [];
  private readonly queue: Exchange[] = [];
  private readonly secure: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly keepAliveTimeoutMs: number;
  private readonly maxQueued: number;
  /** @internal The pool's clock, shared with its connections. */
  readonly now: () => number;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly sweepEveryMs: number;
  private closed = false;
  private closeWaiters: (() => void)[] = [];

  constructor(
    origin: URL,
    readonly options: UpstreamPoolOptions,
  ) {
    this.secure = origin.protocol === 'https:';
    this.host = origin.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(origin.port) || (this.secure ? 443 : 80);
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 4_000;
    this.maxQueued = options.maxQueued ?? Infinity;
    this.now = options.now ?? (() => performance.now());
    const shortest = Math.min(options.connectTimeoutMs, options.headersTimeoutMs, options.bodyTimeoutMs || Infinity, this.keepAliveTimeoutMs);
    this.sweepEveryMs = Math.max(10, Math.min(1_000, Math.floor(shortest / 4)));
  }

  dispatch(request: UpstreamRequest, handler: UpstreamResponseHandler): void {
    const exchange = new Exchange(request, handler, this.now() + this.options.headersTimeoutMs);
    handler.onConnect((reason) => this.abort(exchange, reason ?? new UpstreamFailure('CLIENT_ABORTED', 'exchange aborted')));
    if (exchange.settled) return;
    if (this.closed) return this.fail(exchange, new UpstreamFailure('UPSTREAM_POOL_CLOSED', 'the app was removed or Gatehouse is stopping'));
    this.assign(exchange);
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.queue.length;
  }

  /** Connections open (busy or idle). */
  get open(): number {
    return this.connections.size;
  }

  /** Stops taking requests; resolves once the exchanges under way have finished. */
  close(): Promise<void> {
    this.closed = true;
    for (const exchange of this.queue.splice(0)) this.fail(exchange, new UpstreamFailure('UPSTREAM_POOL_CLOSED', 'the app was removed'));
    for (const connection of this.idle.splice(0)) connection.destroy();
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Ends every exchange now (shutdown). */
  destroy(): Promise<void> {
    const done = this.close();
    for (const connection of [...this.connections]) connection.fail(new UpstreamFailure('UPSTREAM_POOL_CLOSED', 'Gatehouse is stopping'));
    return done;
  }

  private assign(exchange: Exchange, fresh = false): void {
    while (!fresh && this.idle.length > 0) {
      const connection = this.idle.pop()!;
      if (connection.usable) return connection.start(exchange);
      connection.destroy();
    }
    if (this.connections.size < this.options.connections) return this.connect().start(exchange);
    // Without a bound, a hanging upstream collects every request for the app here, each waiting
    // for a connection that will not come free before the response timeout: refuse fast instead.
    if (this.queue.length >= this.maxQueued) {
      return this.fail(exchange, new UpstreamFailure('UPSTREAM_QUEUE_FULL', `${this.queue.length} requests already wait for one of ${this.options.connections} connections`));
    }
    this.queue.push(exchange);
  }

  /** The next queued exchange still inside its deadline; the ones past it fail without a connection. */
  private nextQueued(): Exchange | undefined {
    const now = this.now();
    let next = this.queue.shift();
    while (next !== undefined && now >= next.responseDeadline) {
      this.failQueueTimeout(next);
      next = this.queue.shift();
    }
    return next;
  }

  private failQueueTimeout(exchange: Exchange): void {
    this.fail(exchange, new UpstreamFailure('UPSTREAM_QUEUE_TIMEOUT', `no connection came free within the response timeout (${this.options.headersTimeoutMs} ms)`));
  }

  private connect(): UpstreamConnection {
    const socket: Socket = this.secure
      ? tls.connect({ host: this.host, port: this.port, servername: net.isIP(this.host) === 0 ? this.host : undefined, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    const connection = new UpstreamConnection(this, socket, this.secure);
    this.connections.add(connection);
    this.sweeper ??= setInterval(() => this.sweep(), this.sweepEveryMs).unref();
    return connection;
  }

  /** @internal The connection finished an exchange; `reusable` when it may carry another. */
  released(connection: UpstreamConnection, reusable: boolean): void {
    if (!reusable || this.closed) {
      connection.destroy();
      return;
    }
    const next = this.nextQueued();
    if (next !== undefined) return connection.start(next);
    connection.idleSince = this.now();
    this.idle.push(connection);
  }

  /** @internal The connection is gone (closed, failed or destroyed). */
  removed(connection: UpstreamConnection): void {
    if (!this.connections.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const next = this.nextQueued();
    if (next !== undefined) this.assign(next);
    if (this.connections.size === 0) {
      if (this.sweeper !== null) clearInterval(this.sweeper);
      this.sweeper = null;
      if (this.closed) for (const resolve of this.closeWaiters.splice(0)) resolve();
    }
  }

  /** @internal A reused connection died before any byte of the answer: try once more on a new one. */
  retryOrFail(exchange: Exchange, reused: boolean, error: Error): void {
    if (exchange.settled) return;
    const { method, body } = exchange.request;
    if (reused && !exchange.retried && body === null && IDEMPOTENT.has(method) && !this.closed) {
      exchange.retried = true;
      exchange.connection = null;
      return this.assign(exchange, true);
    }
    this.fail(exchange, error);
  }

  fail(exchange: Exchange, error: Error): void {
    if (exchange.settled) return;
    exchange.settled = true;
    exchange.handler.onError(error);
  }

  private abort(exchange: Exchange, reason: Error): void {
    if (exchange.settled) return;
    const queued = this.queue.indexOf(exchange);
    if (queued !== -1) this.queue.splice(queued, 1);
    const connection = exchange.connection;
    this.fail(exchange, reason);
    // The connection is mid-exchange: it cannot carry another request.
    if (connection !== null && connection.exchange === exchange) connection.abandon();
  }

  private sweep(): void {
    const now = this.now();
    // Queued first: a request whose deadline passed in the queue must get its 504 before a
    // connection freed by a timeout below could pick it up.
    if (this.queue.length > 0) {
      const expired: Exchange[] = [];
      let kept = 0;
      for (const exchange of this.queue) {
        if (now >= exchange.responseDeadline) expired.push(exchange);
        else this.queue[kept++] = exchange;
      }
      this.queue.length = kept;
      for (const exchange of expired) this.failQueueTimeout(exchange);
    }
    for (const connection of this.connections) {
      if (connection.exchange === null) {
        if (now - connection.idleSince >= this.keepAliveTimeoutMs) connection.destroy();
      } else {
        connection.checkDeadline(now);
      }
    }
  }
}

