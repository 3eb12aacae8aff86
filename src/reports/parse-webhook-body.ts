import { GatehouseError } from '../lib/errors.js';
import { REPORT_ERRORS } from './create-reports.js';
import { MalformedMailError, parseForwardedMail } from './parse-forwarded-mail.js';

/** A body that is not what the webhook takes (the reason names what is wrong). */
export const WEBHOOK_BAD_BODY = 'report_intake_bad_body';
const EMAIL_OR_PHONE = /^[^\s<>"]{1,254}$/;

function bad(message: string): GatehouseError {
  return new GatehouseError(WEBHOOK_BAD_BODY, { status: 400, publicMessage: message, detail: message });
}

/**
 * A webhook body, untrusted: `application/json` exactly `{ "text": string, "from"?: string }` (any
 * other key is named and refused, so a gateway's misconfiguration shows at once), or `message/rfc822`
 * (the raw forwarded message, read like the SMTP intake's). The raw message is capped at `maxBytes`
 * as SMTP's is; the text is capped again by `submit`.
 */
export function parseWebhookBody(contentType: string | undefined, body: unknown, maxBytes: number): { from: string | undefined; text: string } {
  const parsed = parseBody(contentType, body, maxBytes);
  // No mail or SMS carries a NUL: PostgreSQL text refuses it (a 500 after the report was triaged), so
  // it is named here, for the gateway's log, before anything is stored.
  if (parsed.text.includes('\u0000') || parsed.from?.includes('\u0000')) throw bad('the message contains a NUL byte');
  return parsed;
}

function parseBody(contentType: string | undefined, body: unknown, maxBytes: number): { from: string | undefined; text: string } {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'message/rfc822') {
    if (typeof body !== 'string') throw bad('the body must be a MIME message');
    if (Buffer.byteLength(body, 'utf8') > maxBytes) {
      throw new GatehouseError(REPORT_ERRORS.tooLarge, { status: 413, publicMessage: `The message is larger than ${maxBytes} bytes; forward only the suspicious message.` });
    }
    try {
      const mail = parseForwardedMail(body);
      return { from: mail.from, text: `Subject: ${mail.subject}\n${mail.text}` };
    } catch (error) {
      if (error instanceof MalformedMailError) throw bad(`malformed message: ${error.message}`);
      throw error;
    }
  }
  if (media !== 'application/json') throw bad('send application/json ({"text": ..., "from": ...}) or message/rfc822');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => key !== 'text' && key !== 'from');
  if (unknown !== undefined) throw bad(`unknown field ${JSON.stringify(unknown.slice(0, 40))} (expected "text" and optional "from")`);
  if (typeof record.text !== 'string') throw bad('"text" must be a string');
  if (record.from !== undefined && (typeof record.from !== 'string' || !EMAIL_OR_PHONE.test(record.from))) throw bad('"from" must be an address or a number, at most 254 characters');
  return { from: typeof record.from === 'string' ? record.from.toLowerCase() : undefined, text: record.text };
}
