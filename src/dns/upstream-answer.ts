/**
 * Validation of an upstream resolver's reply and its reduction to a cacheable template (RFC 1035 §4.1,
 * RFC 2308 for negative answers). The template keeps the reply minus its OPT record (the gateway writes
 * its own), plus where every TTL field lies so a cached copy can be served with decremented TTLs.
 */
import { RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_OPT, TYPE_SOA, skipName } from './wire-query.js';

export interface UpstreamAnswer {
  rcode: number;
  truncated: boolean;
  /** The reply without OPT: header (ID to be overwritten), question, answer, authority, additional. */
  template: Buffer;
  questionEnd: number;
  /** Offsets of the TTL fields inside `template`, and the TTL each record carried. */
  ttlOffsets: number[];
  ttls: number[];
  answerCount: number;
  /** RFC 2308 §5: negative answers are cached for min(SOA TTL, SOA MINIMUM); null when no SOA. */
  negativeTtl: number | null;
}

function readU16(msg: Uint8Array, offset: number): number {
  return (msg[offset]! << 8) | msg[offset + 1]!;
}

function readU32(msg: Uint8Array, offset: number): number {
  return ((msg[offset]! << 24) | (msg[offset + 1]! << 16) | (msg[offset + 2]! << 8) | msg[offset + 3]!) >>> 0;
}

/**
 * Checks every compression pointer in a name points strictly backwards, which rules out loops
 * (each hop lowers the offset) without following them.
 */
function checkedSkipName(msg: Uint8Array, offset: number, end: number): number {
  const after = skipName(msg, offset, end);
  if (after < 0) return -1;
  if (after >= 2 && (msg[after - 2]! & 0xc0) === 0xc0 && after - 2 >= offset) {
    const target = ((msg[after - 2]! & 0x3f) << 8) | msg[after - 1]!;
    if (target >= after - 2 || target < 12) return -1;
  }
  return after;
}

/** Reads the question name (uncompressed, as a resolver echoes it) in lower-case dotted form. */
function readQuestionName(msg: Uint8Array, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let pos = offset;
  for (;;) {
    if (pos >= msg.length) return null;
    const length = msg[pos]!;
    if (length === 0) return { name: labels.join('.').toLowerCase(), end: pos + 1 };
    if (length > 63 || pos + 1 + length > msg.length) return null;
    labels.push(Buffer.from(msg.buffer, msg.byteOffset + pos + 1, length).toString('latin1'));
    pos += length + 1;
  }
}

/**
 * Cached templates live for minutes: copied outside Node's shared 8 KiB allocation pool, or each one
 * would pin a whole pool slab (10,000 entries could hold 80 MB).
 */
function ownCopy(msg: Uint8Array, length: number): Buffer {
  const copy = Buffer.allocUnsafeSlow(length);
  copy.set(msg.subarray(0, length));
  return copy;
}

export interface ExpectedQuestion {
  id: number;
  name: string;
  qtype: number;
  qclass: number;
}

/** Returns the cacheable form of a reply, or a reason string when it must be discarded. */
export function readUpstreamAnswer(msg: Uint8Array, expected: ExpectedQuestion): UpstreamAnswer | string {
  const length = msg.length;
  if (length < 12) return 'short reply';
  const flags = readU16(msg, 2);
  if (!(flags & 0x8000)) return 'not a response';
  if (readU16(msg, 0) !== expected.id) return 'ID mismatch';
  if (readU16(msg, 4) !== 1) return 'question count is not 1';
  const question = readQuestionName(msg, 12);
  if (!question || question.end + 4 > length) return 'unreadable question';
  // Anti-spoofing (RFC 5452 §4.2): the reply must echo the exact question that was sent.
  if (question.name !== expected.name || readU16(msg, question.end) !== expected.qtype || readU16(msg, question.end + 2) !== expected.qclass) {
    return 'question mismatch';
  }
  const questionEnd = question.end + 4;
  const truncated = (flags & 0x0200) !== 0;
  const rcode = flags & 0x0f;
  if (truncated) {
    // RFC 7766 §5: a truncated reply is only a signal to retry over TCP; its records are not used.
    return { rcode, truncated, template: Buffer.alloc(0), questionEnd, ttlOffsets: [], ttls: [], answerCount: 0, negativeTtl: null };
  }
  const counts = [readU16(msg, 6), readU16(msg, 8), readU16(msg, 10)] as const;

  const ttlOffsets: number[] = [];
  const ttls: number[] = [];
  let negativeTtl: number | null = null;
  let pos = questionEnd;
  let optStart = -1;
  let optEnd = -1;
  let additionalStart = -1;
  for (let section = 0; section < 3; section++) {
    if (section === 2) additionalStart = pos;
    for (let r = 0; r < counts[section]!; r++) {
      const start = pos;
      pos = checkedSkipName(msg, pos, length);
      if (pos < 0 || pos + 10 > length) return 'malformed record';
      const type = readU16(msg, pos);
      const ttl = readU32(msg, pos + 4);
      const rdlength = readU16(msg, pos + 8);
      const rdata = pos + 10;
      if (rdata + rdlength > length) return 'record past end';
      if (type === TYPE_OPT) {
        if (section !== 2 || optStart >= 0) return 'misplaced OPT';
        optStart = start;
        optEnd = rdata + rdlength;
      } else {
        ttlOffsets.push(pos + 4);
        // RFC 2181 §8: a TTL with the top bit set is treated as zero.
        ttls.push(ttl > 0x7fffffff ? 0 : ttl);
        if (section === 1 && type === TYPE_SOA && negativeTtl === null) {
          let p = checkedSkipName(msg, rdata, rdata + rdlength);
          if (p >= 0) p = checkedSkipName(msg, p, rdata + rdlength);
          if (p < 0 || p + 20 !== rdata + rdlength) return 'malformed SOA';
          negativeTtl = Math.min(ttl > 0x7fffffff ? 0 : ttl, readU32(msg, p + 16));
        }
      }
      pos = rdata + rdlength;
    }
  }

  let template: Buffer;
  if (optStart < 0) {
    template = ownCopy(msg, pos);
  } else if (optEnd === pos) {
    template = ownCopy(msg, optStart);
    template.writeUInt16BE(counts[2] - 1, 10);
  } else {
    // OPT in the middle of the additional section: cutting it would shift later compression targets,
    // so drop the whole additional section (optional data for a stub resolver).
    template = ownCopy(msg, additionalStart);
    template.writeUInt16BE(0, 10);
    while (ttlOffsets.length > 0 && ttlOffsets[ttlOffsets.length - 1]! >= additionalStart) {
      ttlOffsets.pop();
      ttls.pop();
    }
  }
  const isNegative = rcode === RCODE_NXDOMAIN || (rcode === RCODE_NOERROR && counts[0] === 0);
  return {
    rcode,
    truncated,
    template,
    questionEnd,
    ttlOffsets,
    ttls,
    answerCount: counts[0],
    negativeTtl: isNegative ? negativeTtl : null,
  };
}
