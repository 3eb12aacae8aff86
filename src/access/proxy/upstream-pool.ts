import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { ChunkedDecoder } from './chunked-decoder.js';
import { MAX_RESPONSE_HEAD_BYTES, parseResponseHead } from './response-head.js';
import { invalidResponse, UpstreamFailure, type UpstreamFailureCode } from './upstream-failure.js';
import { serializeRequestHead, type RequestBodyFraming } from './upstream-request-head.js';

/** What the pool calls back as the exchange goes (the forward handler implements it). */
export interface UpstreamResponseHandler {
  /** Called first, with the way to abort the exchange (client gone, unusable response head). */
  onConnect(abort: (reason?: Error) => void): void;
  /** The final response head (interim 1xx responses are skipped). `resume` undoes a `false` from onData. */
  onHeaders(status: number, rawHeaders: string[], resume: () => void): boolean;
  /** A slice of the decoded body; `false` pauses the upstream until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Called at most once, and never after onComplete. */
  onError(error: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** Origin-form target, already canonical. */
  path: string;
  /** Flat name/value list; a Content-Length in it frames the body as is, otherwise a body is chunked. */
  headers: readonly string[];
  body: Readable | null;
}

export interface UpstreamPoolOptions {
  /** Most connections open at once (busy and idle); further requests queue. */
  connections: number;
  connectTimeoutMs: number;
  /** From the request being sent to the response head. */
  headersTimeoutMs: number;
  /** Longest silence inside a response body; 0: none. Not counted while the client is the slow side. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (upstreams close theirs after ~5 s). */
  keepAliveTimeoutMs?: number;
}

// RFC 9110 §9.2.2: only these may be sent again after a connection failed under them.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const MAX_INTERIM_RESPONSES = 16;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum Phase {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

class Exchange {
  connection: UpstreamConnection | null = null;
  /** Set once the exchange is over (completed, failed or aborted): no further callback. */
  settled = false;
  retried = false;
  constructor(
    readonly request: UpstreamRequest,
    readonly handler: UpstreamResponseHandler,
  ) {}
}

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
    const shortest = Math.min(options.connectTimeoutMs, options.headersTimeoutMs, options.bodyTimeoutMs || Infinity, this.keepAliveTimeoutMs);
    this.sweepEveryMs = Math.max(10, Math.min(1_000, Math.floor(shortest / 4)));
  }

  dispatch(request: UpstreamRequest, handler: UpstreamResponseHandler): void {
    const exchange = new Exchange(request, handler);
    handler.onConnect((reason) => this.abort(exchange, reason ?? new UpstreamFailure('CLIENT_ABORTED', 'exchange aborted')));
    if (exchange.settled) return;
    if (this.closed) return this.fail(exchange, new UpstreamFailure('UPSTREAM_POOL_CLOSED', 'the app was removed or Gatehouse is stopping'));
    this.assign(exchange);
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
    if (this.connections.size < this.options.connections) return this.open().start(exchange);
    this.queue.push(exchange);
  }

  private open(): UpstreamConnection {
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
    const next = this.queue.shift();
    if (next !== undefined) return connection.start(next);
    connection.idleSince = performance.now();
    this.idle.push(connection);
  }

  /** @internal The connection is gone (closed, failed or destroyed). */
  removed(connection: UpstreamConnection): void {
    if (!this.connections.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const next = this.queue.shift();
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
    const now = performance.now();
    for (const connection of this.connections) {
      if (connection.exchange === null) {
        if (now - connection.idleSince >= this.keepAliveTimeoutMs) connection.destroy();
      } else {
        connection.checkDeadline(now);
      }
    }
  }
}

/** One socket to the upstream and the exchange it carries, if any. */
class UpstreamConnection {
  exchange: Exchange | null = null;
  idleSince = 0;
  private connected = false;
  private served = 0;
  private phase = Phase.Idle;
  private head: Buffer | null = null;
  private interim = 0;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private keepAlive = false;
  private requestSent = false;
  private paused = false;
  private deadline = 0;
  private deadlineCode: UpstreamFailureCode = 'UPSTREAM_CONNECT_TIMEOUT';
  private bodyCleanup: (() => void) | null = null;
  private readonly resume = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.refreshBodyDeadline();
    this.socket.resume();
  };

  constructor(
    private readonly pool: UpstreamPool,
    private readonly socket: Socket,
    secure: boolean,
  ) {
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      if (this.phase === Phase.Head) this.setDeadline(this.pool.options.headersTimeoutMs, 'UPSTREAM_RESPONSE_TIMEOUT');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.onClose());
  }

  get usable(): boolean {
    return !this.socket.destroyed && this.socket.readable && this.socket.writable;
  }

  start(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    this.phase = Phase.Head;
    this.head = null;
    this.interim = 0;
    this.decoder = null;
    this.requestSent = false;
    this.paused = false;
    if (this.connected) this.setDeadline(this.pool.options.headersTimeoutMs, 'UPSTREAM_RESPONSE_TIMEOUT');
    else this.setDeadline(this.pool.options.connectTimeoutMs, 'UPSTREAM_CONNECT_TIMEOUT');
    const { method, path, headers, body } = exchange.request;
    let framing: RequestBodyFraming;
    try {
      const serialized = serializeRequestHead(method, path, headers, body !== null);
      framing = serialized.framing;
      // Written before the connection is up, net buffers it: the head leaves with the handshake.
      this.socket.write(serialized.head, 'latin1');
    } catch (error) {
      this.exchange = null;
      this.pool.fail(exchange, error as Error);
      this.destroy();
      return;
    }
    if (body === null || framing === 'none') this.requestSent = true;
    else this.streamBody(exchange, body, framing === 'chunked');
  }

  /** Request body with backpressure both ways; chunked bodies are re-framed chunk by chunk. */
  private streamBody(exchange: Exchange, body: Readable, chunked: boolean): void {
    const socket = this.socket;
    const onDrain = (): void => void body.resume();
    const onData = (data: Buffer): void => {
      if (chunked) {
        socket.cork();
        socket.write(`${data.length.toString(16)}\r\n`, 'latin1');
        socket.write(data);
        socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        socket.write(data);
      }
      if (this.phase === Phase.Head && this.connected) this.setDeadline(this.pool.options.headersTimeoutMs, 'UPSTREAM_RESPONSE_TIMEOUT');
      if (socket.writableNeedDrain) {
        body.pause();
        socket.once('drain', onDrain);
      }
    };
    const onEnd = (): void => {
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.requestSent = true;
      cleanup();
    };
    const onAborted = (): void => {
      cleanup();
      if (this.exchange === exchange) this.fail(new UpstreamFailure('CLIENT_ABORTED', 'the client stopped sending the request body'));
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onAborted);
      body.off('aborted', onAborted);
      socket.off('drain', onDrain);
      this.bodyCleanup = null;
    };
    this.bodyCleanup = cleanup;
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onAborted);
    body.once('aborted', onAborted);
  }

  private onData(chunk: Buffer): void {
    const exchange = this.exchange;
    if (exchange === null) {
      // Bytes nobody asked for: the upstream is out of step with us; the connection is done.
      this.destroy();
      return;
    }
    try {
      this.consume(exchange, chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private consume(exchange: Exchange, input: Buffer): void {
    let chunk = input;
    while (this.exchange === exchange) {
      if (this.phase === Phase.Head) {
        const rest = this.readHead(exchange, chunk);
        if (rest === null) return;
        chunk = rest;
        continue;
      }
      if (this.phase === Phase.Length) {
        if (chunk.length === 0) return;
        const take = Math.min(this.remaining, chunk.length);
        this.remaining -= take;
        this.deliver(exchange, take === chunk.length ? chunk : chunk.subarray(0, take));
        if (this.remaining === 0) this.complete(exchange, chunk.length - take);
        return;
      }
      if (this.phase === Phase.Chunked) {
        if (chunk.length === 0) return;
        const used = this.decoder!.feed(chunk, (data) => this.deliver(exchange, data));
        if (this.decoder!.done) this.complete(exchange, chunk.length - used);
        return;
      }
      // Phase.UntilClose
      if (chunk.length > 0) this.deliver(exchange, chunk);
      return;
    }
  }

  /** Accumulates and parses a head; returns the bytes after it, or null while it is incomplete. */
  private readHead(exchange: Exchange, chunk: Buffer): Buffer | null {
    const previous = this.head?.length ?? 0;
    const buffer = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
    const end = buffer.indexOf(CRLFCRLF, Math.max(0, previous - 3));
    if (end === -1) {
      if (buffer.length > MAX_RESPONSE_HEAD_BYTES) throw invalidResponse('response head too large');
      this.head = buffer.length === 0 ? null : Buffer.from(buffer);
      return null;
    }
    if (end > MAX_RESPONSE_HEAD_BYTES) throw invalidResponse('response head too large');
    this.head = null;
    const parsed = parseResponseHead(buffer.toString('latin1', 0, end), exchange.request.method);
    const rest = buffer.subarray(end + 4);
    if (parsed.status < 200) {
      // RFC 9110 §15.2: interim responses (100, 103) precede the final one; they are not relayed.
      if (++this.interim > MAX_INTERIM_RESPONSES) throw invalidResponse('too many interim responses');
      return rest;
    }
    this.keepAlive = parsed.keepAlive;
    const framing = parsed.framing;
    if (framing.kind === 'length') {
      this.phase = Phase.Length;
      this.remaining = framing.length;
    } else if (framing.kind === 'chunked') {
      this.phase = Phase.Chunked;
      this.decoder = new ChunkedDecoder();
    } else if (framing.kind === 'close') {
      this.phase = Phase.UntilClose;
    }
    this.refreshBodyDeadline();
    if (!exchange.handler.onHeaders(parsed.status, parsed.rawHeaders, this.resume)) {
      if (this.exchange === exchange) this.fail(invalidResponse('response head refused by the proxy'));
      return null;
    }
    if (this.exchange !== exchange) return null;
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) {
      this.complete(exchange, rest.length);
      return null;
    }
    return rest;
  }

  private deliver(exchange: Exchange, data: Buffer): void {
    if (exchange.settled) return;
    this.refreshBodyDeadline();
    if (!exchange.handler.onData(data) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private complete(exchange: Exchange, extraBytes: number): void {
    this.exchange = null;
    this.phase = Phase.Idle;
    this.deadline = 0;
    this.served++;
    exchange.connection = null;
    // Bytes past the framed end (a split response) or a request body the upstream did not wait for
    // leave the connection out of step: it is closed, not reused.
    const reusable = this.keepAlive && this.requestSent && extraBytes === 0 && this.usable;
    this.bodyCleanup?.();
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (!exchange.settled) {
      exchange.settled = true;
      exchange.handler.onComplete();
    }
    this.pool.released(this, reusable);
  }

  private onEnd(): void {
    const exchange = this.exchange;
    if (exchange !== null && this.phase === Phase.UntilClose) {
      this.keepAlive = false;
      this.complete(exchange, 0);
      return;
    }
    this.fail(new UpstreamFailure('UPSTREAM_CLOSED', 'the upstream closed the connection before the response ended'));
  }

  private onClose(): void {
    if (this.exchange !== null) this.fail(new UpstreamFailure('UPSTREAM_CLOSED', 'the upstream connection closed before the response ended'));
    this.pool.removed(this);
  }

  /** Ends the connection; the exchange on it, if any, fails with `error` (or is retried). */
  fail(error: Error): void {
    const exchange = this.exchange;
    const answered = this.phase !== Phase.Head || this.head !== null || this.interim > 0;
    this.exchange = null;
    this.bodyCleanup?.();
    this.destroy();
    if (exchange !== null) {
      exchange.connection = null;
      if (answered || (error instanceof UpstreamFailure && error.code !== 'UPSTREAM_CLOSED')) this.pool.fail(exchange, error);
      else this.pool.retryOrFail(exchange, this.served > 0, error);
    }
  }

  /** The exchange was aborted from the client side: drop it without a callback and close. */
  abandon(): void {
    if (this.exchange !== null) this.exchange.connection = null;
    this.exchange = null;
    this.bodyCleanup?.();
    this.destroy();
  }

  destroy(): void {
    this.deadline = 0;
    if (!this.socket.destroyed) this.socket.destroy();
    this.pool.removed(this);
  }

  checkDeadline(now: number): void {
    if (this.deadline !== 0 && !this.paused && now >= this.deadline) {
      const what = this.deadlineCode === 'UPSTREAM_CONNECT_TIMEOUT' ? 'connect' : this.deadlineCode === 'UPSTREAM_RESPONSE_TIMEOUT' ? 'response head' : 'response body';
      this.fail(new UpstreamFailure(this.deadlineCode, `${what} timeout`));
    }
  }

  private setDeadline(ms: number, code: UpstreamFailureCode): void {
    this.deadline = ms > 0 ? performance.now() + ms : 0;
    this.deadlineCode = code;
  }

  private refreshBodyDeadline(): void {
    if (this.phase === Phase.Head || this.phase === Phase.Idle) return;
    this.setDeadline(this.pool.options.bodyTimeoutMs, 'UPSTREAM_BODY_TIMEOUT');
  }
}
