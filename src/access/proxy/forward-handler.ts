import type { ServerResponse } from 'node:http';
import type { ErrorPageContext } from './proxy-error.js';
import { UpstreamFailure } from './upstream-failure.js';
import type { UpstreamResponseHandler } from './upstream-pool.js';
import { filterUpstreamResponseHeaders } from './upstream-response-headers.js';

/** What the handler reports back to the proxy when the exchange fails before or during the response. */
const HANDLER = Symbol('gatehouse.forwardHandler');
type HandledResponse = ServerResponse & { [HANDLER]?: ForwardHandler };

function onClientClose(this: HandledResponse): void {
  this[HANDLER]?.clientClosed();
}

function onClientDrain(this: HandledResponse): void {
  this[HANDLER]?.clientDrained();
}

export interface ForwardFailureSink {
  upstreamFailed(res: ServerResponse, error: unknown, app: string, page: ErrorPageContext): void;
}

/**
 * The upstream pool's callbacks for one proxied request: response bytes go straight to the client's
 * socket. Backpressure runs
 * both ways: when the client's socket buffer is full the upstream socket is paused until `drain`, so
 * a 1 GB download through a slow client holds only socket buffers in memory.
 */
export class ForwardHandler implements UpstreamResponseHandler {
  private abortUpstream: ((reason?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private finished = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly sink: ForwardFailureSink,
    private readonly app: string,
    /** The request's reference and person, for the error page if the exchange fails. */
    private readonly page: ErrorPageContext,
    private readonly protectedCookies: ReadonlySet<string> | null = null,
    /**
     * Gives back the client's in-flight slot. Called once the upstream side is over, on whichever
     * path ends it (complete, error, timeout, client gone): a slot never given back would lock the
     * client out for good, and enough of them the whole app.
     */
    private release: (() => void) | null = null,
  ) {
    // Module-level listeners that find the handler on the response: no closure allocated per request.
    (res as HandledResponse)[HANDLER] = this;
    // `on`, not `once`: the response object dies with this exchange, and `once` allocates a wrapper.
    res.on('close', onClientClose);
  }

  /** The client went away: stop the upstream exchange instead of reading a body nobody will receive. */
  clientClosed(): void {
    this.releaseSlot();
    if (this.finished) return;
    this.finished = true;
    this.abortUpstream?.(new Error('client closed the connection'));
  }

  clientDrained(): void {
    this.resumeUpstream?.();
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.finished) abort(new Error('client closed the connection'));
    else this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    // 1xx interim responses (103 Early Hints) never get here: the pool skips them.
    if (this.finished) return true;
    this.resumeUpstream = resume;
    try {
      this.res.writeHead(statusCode, filterUpstreamResponseHeaders(rawHeaders, this.protectedCookies));
    } catch (error) {
      // Node refuses a field it cannot serialize (invalid characters): a 502, never a half-written head.
      this.abortUpstream?.(new UpstreamFailure('UPSTREAM_INVALID_RESPONSE', `invalid upstream response header: ${(error as Error).message}`));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return true;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', onClientDrain);
    return false;
  }

  onComplete(): void {
    this.releaseSlot();
    if (this.finished) return;
    this.finished = true;
    this.res.end();
  }

  onError(error: Error): void {
    this.releaseSlot();
    if (this.finished) return;
    this.finished = true;
    this.sink.upstreamFailed(this.res, error, this.app, this.page);
  }

  private releaseSlot(): void {
    const release = this.release;
    this.release = null;
    release?.();
  }
}
