import type { Readable } from 'node:stream';
import type { UpstreamConnection } from './upstream-connection.js';

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

/** One request on its way through the pool: queued, on a connection, or settled. */
export class Exchange {
  connection: UpstreamConnection | null = null;
  /** Set once the exchange is over (completed, failed or aborted): no further callback. */
  settled = false;
  retried = false;
  constructor(
    readonly request: UpstreamRequest,
    readonly handler: UpstreamResponseHandler,
    /**
     * When the wait for the response head ends (pool clock): arrival plus the response timeout, so
     * time spent in the pool's queue and connecting counts. Upload progress pushes it back.
     */
    public responseDeadline: number,
  ) {}
}
