import { invalidResponse } from './upstream-failure.js';

const CR = 13;
const LF = 10;
/** A chunk-size line (size plus extensions) or a trailer section longer than this is refused. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
/** 2^48 bytes per chunk at most: twelve hex digits, well inside exact double arithmetic. */
const MAX_SIZE_DIGITS = 12;

const enum State {
  Size,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

/**
 * Incremental decoder for a chunked response body (RFC 9112 §7.1). Strict on framing, because a
 * decoder that is lenient where the upstream is not is how response desync starts: hex sizes only,
 * CRLF exactly where the grammar has it, bounded size lines and trailers. Extensions are skipped and
 * trailer fields are dropped (the body is re-framed for the client). Throws `UpstreamFailure`
 * (UPSTREAM_INVALID_RESPONSE) on the first violation.
 */
export class ChunkedDecoder {
  private state = State.Size;
  private remaining = 0;
  private line = '';
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Consumes bytes from `chunk`, calling `onData` with each slice of body data (views into `chunk`, no
   * copy). Returns how many bytes belonged to this body: less than `chunk.length` only once done.
   */
  feed(chunk: Buffer, onData: (data: Buffer) => void): number {
    let i = 0;
    const n = chunk.length;
    while (i < n && this.state !== State.Done) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.remaining, n - i);
          onData(chunk.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (chunk[i++] !== CR) throw invalidResponse('chunk data not followed by CRLF');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (chunk[i++] !== LF) throw invalidResponse('chunk data not followed by CRLF');
          this.state = State.Size;
          break;
        case State.Size:
        case State.Trailer: {
          const lf = chunk.indexOf(LF, i);
          const end = lf === -1 ? n : lf;
          this.line += chunk.toString('latin1', i, end);
          if (this.state === State.Trailer) this.trailerBytes += end - i + 1;
          if (this.line.length > MAX_LINE_BYTES || this.trailerBytes > MAX_TRAILER_BYTES) throw invalidResponse('chunk-size line or trailer section too long');
          i = lf === -1 ? n : lf + 1;
          if (lf === -1) break;
          const line = this.line;
          this.line = '';
          if (line.charCodeAt(line.length - 1) !== CR) throw invalidResponse('bare LF in chunked framing');
          if (this.state === State.Trailer) {
            // An empty line ends the trailer section and the message; trailer fields are dropped.
            if (line.length === 1) this.state = State.Done;
            else if (line.indexOf('\r') !== line.length - 1) throw invalidResponse('bare CR in a trailer field');
            break;
          }
          this.startChunk(line.slice(0, -1));
          break;
        }
      }
    }
    return i;
  }

  private startChunk(line: string): void {
    const semicolon = line.indexOf(';');
    // RFC 9112 §7.1.1: chunk-ext may follow BWS; the size itself is bare hex digits.
    const size = (semicolon === -1 ? line : line.slice(0, semicolon)).replace(/[ \t]+$/, '');
    if (size.length === 0 || size.length > MAX_SIZE_DIGITS || !/^[0-9A-Fa-f]+$/.test(size)) {
      throw invalidResponse(`invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
    }
    if (semicolon !== -1 && /[\x00-\x08\x0a-\x1f\x7f]/.test(line.slice(semicolon))) throw invalidResponse('control character in a chunk extension');
    this.remaining = parseInt(size, 16);
    this.state = this.remaining === 0 ? State.Trailer : State.Data;
  }
}
