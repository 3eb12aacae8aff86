import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { smtpRequiresStartTls, type IncidentSmtpConfig } from '../../config/index.js';
import { GatehouseError } from '../../lib/errors.js';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface EmailSender {
  send(message: EmailMessage, options: { idempotencyKey: string }): Promise<void>;
  close(): void;
}

/** nodemailer reports every timeout as ETIMEDOUT; `timeoutType` says which wait ran out. */
const TIMEOUT_WAITS: Record<string, string> = {
  CONNECT_TIMEOUT: 'the connection was not set up',
  GREETING_TIMEOUT: 'no greeting was received',
  UPGRADE_TIMEOUT: 'the STARTTLS handshake did not finish',
  SOCKET_TIMEOUT: 'the server went silent',
};

/**
 * A stalled mail server becomes `smtp_timeout` with what it stalled on, a refused STARTTLS
 * `smtp_tls_unavailable`; other failures pass through.
 */
function describeSmtpFailure(error: unknown, config: IncidentSmtpConfig): unknown {
  const { code, timeoutType, command } = (error ?? {}) as { code?: unknown; timeoutType?: unknown; command?: unknown };
  if (command === 'STARTTLS' && code !== 'ETIMEDOUT') {
    return new GatehouseError('smtp_tls_unavailable', {
      status: 502,
      publicMessage: 'The mail server does not offer TLS.',
      detail: `${config.host}:${config.port}: STARTTLS is required and failed (${String((error as Error).message)})`,
      cause: error,
    });
  }
  if (code !== 'ETIMEDOUT') return error;
  const wait = (typeof timeoutType === 'string' && TIMEOUT_WAITS[timeoutType]) || 'the server did not answer in time';
  const limit =
    timeoutType === 'SOCKET_TIMEOUT' ? config.socket_timeout_ms : timeoutType === 'CONNECT_TIMEOUT' ? config.connection_timeout_ms : config.greeting_timeout_ms;
  const during = typeof command === 'string' && command !== 'CONN' ? ` during ${command}` : '';
  return new GatehouseError('smtp_timeout', {
    status: 504,
    publicMessage: 'The mail server did not answer in time.',
    detail: `${config.host}:${config.port}: ${wait}${during} (limit ${limit} ms)`,
    cause: error,
  });
}

/**
 * SMTP through nodemailer (pooled connections). The Message-ID is derived from the outbox key, so a
 * redelivery after a crash carries the same id and mail systems that de-duplicate on it drop it.
 */
export function createEmailSender(config: IncidentSmtpConfig): EmailSender {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    // With requireTLS nodemailer fails the send when the server offers no STARTTLS, instead of
    // falling back to plain text (a downgrade anyone on the path can force).
    requireTLS: smtpRequiresStartTls(config),
    pool: true,
    maxConnections: config.pool_size,
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    // Without these a server that accepts and never answers holds the playbook step forever.
    connectionTimeout: config.connection_timeout_ms,
    greetingTimeout: config.greeting_timeout_ms,
    socketTimeout: config.socket_timeout_ms,
  });
  return {
    async send(message, { idempotencyKey }) {
      const id = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
      await transport
        .sendMail({
          from: config.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          messageId: `<incident-${id}@gatehouse.invalid>`,
          headers: { 'X-Gatehouse-Idempotency-Key': idempotencyKey },
        })
        .catch((error: unknown) => {
          throw describeSmtpFailure(error, config);
        });
    },
    close: () => transport.close(),
  };
}
