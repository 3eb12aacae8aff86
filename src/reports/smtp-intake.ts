import type { SMTPServerAddress } from 'smtp-server';
import { isGatehouseError } from '../lib/errors.js';
import type { Reports } from './create-reports.js';
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
  trustSender: boolean;
  isKnownUser: (email: string) => Promise<boolean>;
  reports: Pick<Reports, 'submit'>;
  logger?: { warn(object: object, message?: string): void };
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * An SMTP listener for forwarded lures (RFC 5321), meant to sit behind the organisation's relay on a
 * loopback or internal address. No AUTH, no STARTTLS (the relay speaks TLS to the world); one
 * recipient; SIZE advertised (RFC 1870) and enforced: an oversized message is refused with 552, a
 * malformed one with 550, so the sending system keeps it and tells the person — nothing is lost.
 */
export async function startReportIntake(options: ReportIntakeOptions): Promise<ReportIntake> {
  const intakeAddress = `report@${options.domain.toLowerCase()}`;
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
          const envelope = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : undefined;
          // Anyone can write any From:; trusted only behind a DMARC-enforcing relay and when it agrees with the envelope.
          const identified = options.trustSender && mail.from !== undefined && mail.from === envelope && (await options.isKnownUser(mail.from));
          const outcome = await options.reports.submit({
            source: 'smtp',
            ...(identified && mail.from ? { reporter: mail.from } : {}),
            body: `Subject: ${mail.subject}\n${mail.text}`,
            ...(session.remoteAddress ? { clientIp: session.remoteAddress } : {}),
          });
          return outcome;
        })().then(
          (outcome) => callback(null, `2.0.0 report ${outcome.reportId} received, thank you`),
          (error: unknown) => {
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
