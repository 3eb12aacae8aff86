import type { SMTPServerAddress } from 'smtp-server';
import type { AuditLog } from '../audit/index.js';
import { isGatehouseError } from '../lib/errors.js';
import { REPORT_ERRORS, type Reports } from './create-reports.js';
import { anonymousRefusalText, judgeIntakeSender, type IntakeSender, type IntakeSenderPolicy } from './judge-intake-sender.js';
import { MalformedMailError, parseForwardedMail } from './parse-forwarded-mail.js';

export interface ReportIntake {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export interface ReportIntakeOptions {
  host: string;
  port: number;
  /** Mail is accepted only for `report@<domain>`. */
  domain: string;
  maxBytes: number;
  /** Who may count as a reporter (see `judgeIntakeSender`). */
  sender: IntakeSenderPolicy;
  /** `reports.allow_anonymous`, read per message (hot reload). Off: an unidentified sender is refused with 550 5.7.1. */
  allowAnonymous: () => boolean;
  reports: Pick<Reports, 'submit'>;
  audit?: Pick<AuditLog, 'record'>;
  logger?: { warn(object: object, message?: string): void };
}

class AnonymousRefused extends Error {
  constructor(readonly sender: Extract<IntakeSender, { identified: false }>) {
    super(sender.why);
  }
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * An SMTP listener for forwarded lures (RFC 5321), meant to sit behind the organisation's relay on a
 * loopback or internal address. No AUTH, no STARTTLS (the relay speaks TLS to the world); one
 * recipient; SIZE advertised (RFC 1870) and enforced: an oversized message is refused with 552, a
 * malformed one with 550, so the sending system keeps it and tells the person — nothing is lost.
 * With `allow_anonymous` off, a sender the intake cannot identify is refused with 550 5.7.1 naming
 * why (at MAIL FROM when the envelope alone settles it, else after DATA) and nothing is stored.
 */
export async function startReportIntake(options: ReportIntakeOptions): Promise<ReportIntake> {
  const intakeAddress = `report@${options.domain.toLowerCase()}`;
  const refuseAnonymous = async (sender: Extract<IntakeSender, { identified: false }>, ip: string | undefined) => {
    // The claimed address is the attacker's text: kept in the audit detail (bounded), never trusted.
    await options.audit?.record({ type: 'report.refused', outcome: 'failure', code: REPORT_ERRORS.anonymousRefused, actor: 'anonymous', ...(ip ? { ip } : {}), detail: { source: 'smtp', reason: sender.why, ...(sender.claimed ? { claimedSender: sender.claimed.slice(0, 254) } : {}) } });
  };
  // Loaded only when an intake is configured: a server without one never needs the SMTP library.
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    banner: 'Gatehouse report intake',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: options.maxBytes,
    maxClients: 20,
    socketTimeout: 30_000,
    logger: false,
    onMailFrom(address: SMTPServerAddress, session, callback) {
      if (options.allowAnonymous()) return callback();
      // Refused before the body is read when the envelope alone cannot be identified; the From: header is judged after DATA.
      const envelopeFrom = address.address ? address.address.toLowerCase() : undefined;
      judgeIntakeSender({ envelopeFrom, headerFrom: envelopeFrom, remoteAddress: session.remoteAddress }, options.sender).then(
        (sender) => (sender.identified ? callback() : refuseAnonymous(sender, session.remoteAddress).then(() => callback(smtpError(`5.7.1 ${anonymousRefusalText(sender)}`, 550)))),
        (error: unknown) => {
          options.logger?.warn({ err: error }, 'report intake sender check failed');
          callback(smtpError('4.3.0 try again later', 451));
        },
      );
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      if (address.address.toLowerCase() !== intakeAddress) return callback(smtpError(`5.1.1 only ${intakeAddress} is served here`, 550));
      if (session.envelope.rcptTo.length >= 1) return callback(smtpError('5.5.3 one recipient per message', 452));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // Past the limit stop keeping bytes; smtp-server sets sizeExceeded and we refuse at the end.
        if (size <= options.maxBytes) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded || size > options.maxBytes) return callback(smtpError(`5.3.4 message larger than ${options.maxBytes} bytes; forward only the suspicious message`, 552));
        void (async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const mail = parseForwardedMail(raw);
          const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : undefined;
          const sender = await judgeIntakeSender({ envelopeFrom, headerFrom: mail.from, remoteAddress: session.remoteAddress }, options.sender);
          if (!sender.identified && !options.allowAnonymous()) {
            await refuseAnonymous(sender, session.remoteAddress);
            throw new AnonymousRefused(sender);
          }
          const outcome = await options.reports.submit({
            source: 'smtp',
            ...(sender.identified ? { reporter: sender.reporter } : sender.claimed ? { claimedSender: sender.claimed } : {}),
            body: `Subject: ${mail.subject}\n${mail.text}`,
            ...(session.remoteAddress ? { clientIp: session.remoteAddress } : {}),
          });
          return outcome;
        })().then(
          (outcome) => callback(null, `2.0.0 report ${outcome.reportId} received, thank you`),
          (error: unknown) => {
            if (error instanceof AnonymousRefused) return callback(smtpError(`5.7.1 ${anonymousRefusalText(error.sender)}`, 550));
            if (error instanceof MalformedMailError) return callback(smtpError(`5.6.0 malformed message: ${error.message}`, 550));
            if (isGatehouseError(error) && error.status < 500) return callback(smtpError(`5.6.0 ${error.publicMessage}`, 550));
            options.logger?.warn({ err: error }, 'report intake failed');
            callback(smtpError('4.3.0 try again later', 451));
          },
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
