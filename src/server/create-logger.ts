import pino, { type Logger } from 'pino';

/**
 * A path segment that looks like a bearer secret (32 or more base64url characters: every token Gatehouse
 * mints is 43) is logged as `[redacted]`: personal DoH URLs carry the token in the path, and an app's
 * own links may too.
 */
const SECRET_SEGMENT = /(?<=\/)[A-Za-z0-9_-]{32,}(?=\/|$)/g;

export function redactPath(url: string): string {
  return (url.split('?')[0] ?? '').replace(SECRET_SEGMENT, '[redacted]');
}

/**
 * Structured logs (pino). Requests are logged by method, path (never the query string: enrollment
 * links carry their token there; token-like path segments redacted) and host; no header is logged, so
 * no cookie or token reaches a log.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      serializers: {
        req(req: { method?: string; url?: string; headers?: Record<string, unknown>; socket?: { remoteAddress?: string } }) {
          return {
            method: req.method,
            path: redactPath(req.url ?? ''),
            host: req.headers?.host,
            remoteAddress: req.socket?.remoteAddress,
          };
        },
        res(res: { statusCode?: number }) {
          return { statusCode: res.statusCode };
        },
        err: pino.stdSerializers.err,
      },
      redact: { paths: ['*.password', '*.token', '*.cookie', '*.authorization', '*.secret'], censor: '[redacted]' },
    },
    destination,
  );
}
