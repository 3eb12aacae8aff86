import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ChunkedDecoder } from './chunked-decoder.js';
import { MAX_RESPONSE_HEAD_BYTES, parseResponseHead } from './response-head.js';
import type { Exchange } from './upstream-exchange.js';
import { invalidResponse, UpstreamFailure, type UpstreamFailureCode } from './upstream-failure.js';
import type { UpstreamPool } from './upstream-pool.js';
import { serializeRequestHead, type RequestBodyFraming } from './upstream-request-head.js';

const MAX_INTERIM_RESPONSES = 16;
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum Phase {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

/** One socket to the upstream and the exchange it carries, if any. */
export class UpstreamConnection {
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
      if (this.phase === Phase.Head && this.exchange !== null) this.setDeadlineAt(this.exchange.responseDeadline, 'UPSTREAM_RESPONSE_TIMEOUT');
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
    // The response deadline runs from the request's arrival (queue and connect time count), so no
    // request waits longer than the response timeout in total; connecting has its own, shorter bound.
    const connectBy = this.pool.now() + this.pool.options.connectTimeoutMs;
    if (this.connected || exchange.responseDeadline <= connectBy) this.setDeadlineAt(exchange.responseDeadline, 'UPSTREAM_RESPONSE_TIMEOUT');
    else this.setDeadlineAt(connectBy, 'UPSTREAM_CONNECT_TIMEOUT');
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
      if (this.phase === Phase.Head && this.connected) {
        // Upload progress: the wait for the answer starts again from the last byte sent.
        exchange.responseDeadline = this.pool.now() + this.pool.options.headersTimeoutMs;
        this.setDeadlineAt(exchange.responseDeadline, 'UPSTREAM_RESPONSE_TIMEOUT');
      }
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
    this.abandon();
    if (exchange !== null) {
      if (answered || (error instanceof UpstreamFailure && error.code !== 'UPSTREAM_CLOSED')) this.pool.fail(exchange, error);
      else this.pool.retryOrFail(exchange, this.served > 0, error);
    }
  }

  /** Drops the exchange without a callback (the client side aborted it, or `fail` reports it) and closes. */
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
    this.setDeadlineAt(ms > 0 ? this.pool.now() + ms : 0, code);
  }

  private setDeadlineAt(at: number, code: UpstreamFailureCode): void {
    this.deadline = at;
    this.deadlineCode = code;
  }

  private refreshBodyDeadline(): void {
    if (this.phase === Phase.Head || this.phase === Phase.Idle) return;
    this.setDeadline(this.pool.options.bodyTimeoutMs, 'UPSTREAM_BODY_TIMEOUT');
  }
}
