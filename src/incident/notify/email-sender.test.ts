import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatConfigIssues } from '../../config/index.js';
import { incidentSchema, incidentSmtpSchema, smtpRequiresStartTls } from '../../config/index.js';
import { isGatehouseError } from '../../lib/errors.js';
import { createEmailSender } from './email-sender.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();

/** A raw TCP "mail server" whose every line is answered by `reply` (undefined: say nothing). */
async function startStalledServer(greeting: string | undefined, reply: (line: string) => string | undefined = () => undefined) {
  const seen: string[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (greeting) socket.write(greeting);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        seen.push(line);
        const answer = reply(line);
        if (answer) socket.write(answer);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

function sender(port: number, timeouts: Record<string, number>) {
  return createEmailSender(incidentSmtpSchema.parse({ host: '127.0.0.1', port, from: 'security@acme.test', ...timeouts }));
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the send should have failed'),
    (error: unknown) => error,
  );
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('SMTP sender timeouts', () => {
  it('has defaults of a few seconds for connecting and the greeting, 30 s of silence later', () => {
    const config = incidentSmtpSchema.parse({ host: 'mail.acme.test', from: 'security@acme.test' });
    expect(config).toMatchObject({ connection_timeout_ms: 10_000, greeting_timeout_ms: 10_000, socket_timeout_ms: 30_000 });
  });

  it('fails with smtp_timeout when the server accepts the connection and never greets', async () => {
    const { port } = await startStalledServer(undefined);
    const mail = sender(port, { greeting_timeout_ms: 300, connection_timeout_ms: 5000 });
    try {
      // The message names the limit that ended it: the greeting limit, not the connection limit.
      const error = await failureOf(mail.send({ to: 'alice@acme.test', subject: 's', text: 't' }, { idempotencyKey: 'k1' }));
      expect(isGatehouseError(error) && error.code).toBe('smtp_timeout');
      expect((error as Error).message).toBe(`smtp_timeout: 127.0.0.1:${port}: no greeting was received (limit 300 ms)`);
    } finally {
      mail.close();
    }
  });

  it('fails with smtp_timeout when the server goes silent in the middle of DATA', async () => {
    const { port, seen } = await startStalledServer('220 stalled.test ESMTP\r\n', (line) => {
      if (/^EHLO /i.test(line)) return '250-stalled.test\r\n250 8BITMIME\r\n';
      if (/^(MAIL FROM|RCPT TO):/i.test(line)) return '250 OK\r\n';
      if (/^DATA$/i.test(line)) return '354 go ahead\r\n';
      return undefined; // the message and its final "." are never acknowledged
    });
    const mail = sender(port, { socket_timeout_ms: 300 });
    try {
      const error = await failureOf(mail.send({ to: 'alice@acme.test', subject: 'stalled', text: 'body' }, { idempotencyKey: 'k2' }));
      expect(isGatehouseError(error) && error.code).toBe('smtp_timeout');
      expect((error as Error).message).toContain('the server went silent (limit 300 ms)');
      expect(seen).toContain('DATA');
      expect(seen).toContain('.');
    } finally {
      mail.close();
    }
  });
});

describe('SMTP uses TLS or refuses', () => {
  const smtp = (fields: Record<string, unknown>) => ({ from: 'security@acme.test', ...fields });

  it('refuses a non-loopback host with TLS off at config validation, naming incident.smtp.require_tls', () => {
    for (const fields of [{ host: 'mail.acme.test', require_tls: false }, { host: '10.0.0.25', port: 25, require_tls: false }, { host: '::ffff:7f00:1', require_tls: false }]) {
      const parsed = incidentSchema.safeParse({ smtp: smtp(fields) });
      expect(parsed.success).toBe(false);
      expect(formatConfigIssues(parsed.error!, ['incident'])).toBe(
        'incident.smtp.require_tls: mail to a non-loopback host must use TLS: set secure: true (port 465) or leave require_tls on',
      );
    }
  });

  it('requires STARTTLS by default off the machine, and lets implicit TLS or a loopback relay go without it', () => {
    expect(smtpRequiresStartTls(incidentSmtpSchema.parse(smtp({ host: 'mail.acme.test' })))).toBe(true);
    expect(smtpRequiresStartTls(incidentSmtpSchema.parse(smtp({ host: 'mail.acme.test', port: 465, secure: true, require_tls: false })))).toBe(false);
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost']) {
      expect(smtpRequiresStartTls(incidentSmtpSchema.parse(smtp({ host, require_tls: false })))).toBe(false);
      expect(smtpRequiresStartTls(incidentSmtpSchema.parse(smtp({ host })))).toBe(false);
    }
    // A loopback relay can still be made to insist on STARTTLS.
    expect(smtpRequiresStartTls(incidentSmtpSchema.parse(smtp({ host: '127.0.0.1', require_tls: true })))).toBe(true);
  });

  it('fails with smtp_tls_unavailable and sends no envelope when STARTTLS is required and refused', async () => {
    const { port, seen } = await startStalledServer('220 plain.test ESMTP\r\n', (line) => {
      if (/^EHLO /i.test(line)) return '250-plain.test\r\n250 8BITMIME\r\n';
      if (/^STARTTLS$/i.test(line)) return '454 TLS not available\r\n';
      return '250 OK\r\n';
    });
    const mail = createEmailSender(incidentSmtpSchema.parse(smtp({ host: '127.0.0.1', port, require_tls: true, user: 'gatehouse', password: 'secret-password' })));
    try {
      const error = await failureOf(mail.send({ to: 'alice@acme.test', subject: 's', text: 't' }, { idempotencyKey: 'k3' }));
      expect(isGatehouseError(error) && error.code).toBe('smtp_tls_unavailable');
      expect(seen).toContain('STARTTLS');
      expect(seen.some((line) => /^(AUTH|MAIL FROM|RCPT TO|DATA)/i.test(line))).toBe(false);
    } finally {
      mail.close();
    }
  });
});
