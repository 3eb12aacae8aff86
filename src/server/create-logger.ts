import pino, { type Logger } from 'pino';

/**
 * Structured logs (pino). Requests are logged by method, path (never the query string: enrollment
 * links carry their token there) and host; no header is logged, so no cookie or token reaches a log.
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
            path: (req.url ?? '').split('?')[0],
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
