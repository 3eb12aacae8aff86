import type { Clock } from '../lib/clock.js';
import type { ReportRepository } from './report-repository.js';

/** What delivery needs of the incident capability's SMTP sender (`createEmailSender`). */
export interface ReportMailer {
  send(message: { to: string; subject: string; text: string }, options: { idempotencyKey: string }): Promise<void>;
}

/**
 * Sends pending thank-you notes and responder alerts. The key is the idempotency key (Message-ID),
 * so a retry after a crash is de-duplicated by mail systems that honour it. Abuse-report drafts wait
 * for a responder (status `draft`) and are never sent from here.
 */
export async function deliverReportMessages(repository: ReportRepository, mailer: ReportMailer, clock: Clock): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  for (const message of await repository.messages({ status: 'pending' })) {
    try {
      await mailer.send({ to: message.recipient, subject: message.subject, text: message.body }, { idempotencyKey: `report:${message.key}` });
      await repository.markMessage(message.key, 'sent', clock.now());
      sent++;
    } catch (error) {
      await repository.markMessage(message.key, 'failed', clock.now(), (error as Error).message);
      failed++;
    }
  }
  return { sent, failed };
}
