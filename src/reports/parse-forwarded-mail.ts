/**
 * Just enough RFC 5322 / RFC 2045-2046 to read a forwarded lure: unfolded headers, multipart bodies
 * (nested, bounded), quoted-printable and base64. The result is text to extract indicators from and
 * to store; nothing in it is rendered unescaped or followed. A message we cannot read is refused as a
 * whole (`mail_malformed`) so the sender's mail system keeps it and says so: nothing is half-stored.
 */
export interface ParsedMail {
  from: string | undefined;
  subject: string;
  text: string;
}

export class MalformedMailError extends Error {
  readonly code = 'mail_malformed';
}

const MAX_DEPTH = 5;
const MAX_PARTS = 50;

function splitHeaders(raw: string): { headers: Map<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  if (!match) throw new MalformedMailError('no blank line between the headers and the body');
  const head = raw.slice(0, match.index);
  const body = raw.slice(match.index + match[0].length);
  const headers = new Map<string, string>();
  // RFC 5322 §2.2.3: a line starting with white space continues the previous header.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) throw new MalformedMailError('a header line without a name');
    const name = line.slice(0, colon).toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parameter(value: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return match ? (match[1] ?? match[2]) : undefined;
}

function decode(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    default:
      return body;
  }
}

function textOf(raw: string, depth: number, budget: { parts: number }): string {
  if (depth > MAX_DEPTH) throw new MalformedMailError('multipart nesting deeper than 5');
  if (--budget.parts < 0) throw new MalformedMailError('more than 50 parts');
  const { headers, body } = splitHeaders(raw);
  const type = headers.get('content-type') ?? 'text/plain';
  const mediaType = type.split(';')[0]!.trim().toLowerCase();
  if (mediaType.startsWith('multipart/')) {
    const boundary = parameter(type, 'boundary');
    if (!boundary) throw new MalformedMailError('a multipart body without a boundary');
    const delimiter = `--${boundary}`;
    if (!body.includes(delimiter)) throw new MalformedMailError('the multipart boundary never appears');
    const parts = body.split(delimiter).slice(1);
    return parts
      .filter((part) => !part.startsWith('--'))
      .map((part) => textOf(part.replace(/^[ \t]*\r?\n/, ''), depth + 1, budget))
      .filter((t) => t.length > 0)
      .join('\n');
  }
  // A forwarded message as an attachment: its own headers (From, Subject) are evidence too.
  if (mediaType === 'message/rfc822') {
    const inner = splitHeaders(body);
    const lines = ['from', 'subject', 'date'].flatMap((h) => (inner.headers.has(h) ? [`${h}: ${inner.headers.get(h)}`] : []));
    return `${lines.join('\n')}\n${textOf(body, depth + 1, budget)}`;
  }
  if (mediaType.startsWith('text/')) return decode(body, headers.get('content-transfer-encoding'));
  return '';
}

/** The address in a From: header value (`"Name" <a@b>` or `a@b`), lower-cased; undefined if none. */
function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  const bare = angle?.[1] ?? /^[^\s<>]+@[^\s<>]+$/.exec(value.trim())?.[0];
  return bare?.toLowerCase();
}

export function parseForwardedMail(raw: string): ParsedMail {
  const { headers } = splitHeaders(raw);
  if (!headers.has('from')) throw new MalformedMailError('no From header');
  return { from: addressOf(headers.get('from')), subject: (headers.get('subject') ?? '').slice(0, 300), text: textOf(raw, 0, { parts: MAX_PARTS }) };
}
