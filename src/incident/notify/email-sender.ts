import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { IncidentSmtpConfig } from '../../config/sections/incident.js';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface EmailSender {
  send(message: EmailMessage, options: { idempotencyKey: string }): Promise<void>;
  close(): void;
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
    pool: true,
    maxConnections: config.pool_size,
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message, { idempotencyKey }) {
      const id = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
      await transport.sendMail({
        from: config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: `<incident-${id}@gatehouse.invalid>`,
        headers: { 'X-Gatehouse-Idempotency-Key': idempotencyKey },
      });
    },
    close: () => transport.close(),
  };
}
