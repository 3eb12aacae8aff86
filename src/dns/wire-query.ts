/**
 * Hand-written parser for incoming DNS queries (RFC 1035 §4.1). The hot path avoids a general decoder:
 * it reads the header, the single question and the OPT record (RFC 6891 §6.1), copies the name into a
 * caller-owned scratch buffer in lower-case dotted form, and rejects anything else. Every read is
 * bounds-checked, so truncated, oversized or looping packets become a parse failure, never an exception.
 */

export const TYPE_A = 1;
export const TYPE_SOA = 6;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
/** RFC 6891 §6.1.3: extended RCODE 16, carried as 1 in the OPT upper bits. */
export const RCODE_BADVERS = 16;

export interface ParsedQuery {
  id: number;
  flags: number;
  qtype: number;
  qclass: number;
  /** Offset just past the question section in the original message. */
  questionEnd: number;
  /** Lower-case dotted name without trailing dot ('' for the root), also left in the scratch buffer. */
  name: string;
  nameLength: number;
  edns: boolean;
  /** Requestor's UDP payload size (RFC 6891 §6.2.3), 512 without EDNS. */
  udpSize: number;
  dnssecOk: boolean;
}

/** Why a message is not a query we answer: `drop` = no reply at all (too short to hold an ID, or a response). */
export interface QueryParseFailure {
  failure: 'drop' | 'formerr' | 'notimp' | 'badvers';
  id: number;
  flags: number;
  /** Set when the question was readable, so the error reply can echo it. */
  questionEnd?: number;
  edns?: boolean;
  /** The request's OPT DO bit, so a NOTIMP reply's OPT can echo it (RFC 3225 §3). */
  dnssecOk?: boolean;
}

export function isParseFailure(value: ParsedQuery | QueryParseFailure): value is QueryParseFailure {
  return (value as QueryParseFailure).failure !== undefined;
}

/** Skips a possibly compressed name; -1 if it runs past `end` or uses a reserved label type. */
export function skipName(msg: Uint8Array, offset: number, end: number): number {
  let pos = offset;
  let wire = 0;
  while (pos < end) {
    const length = msg[pos]!;
    if (length === 0) return pos + 1;
    if ((length & 0xc0) === 0xc0) return pos + 2 <= end ? pos + 2 : -1;
    if ((length & 0xc0) !== 0) return -1;
    wire += length + 1;
    if (wire > 255) return -1;
    pos += length + 1;
  }
  return -1;
}

function readU16(msg: Uint8Array, offset: number): number {
  return (msg[offset]! << 8) | msg[offset + 1]!;
}

/** A ParsedQuery whose fields are filled in place by `readQuery`; `name` is left for the caller. */
export function emptyParsedQuery(): ParsedQuery {
  return { id: 0, flags: 0, qtype: 0, qclass: 0, questionEnd: 0, name: '', nameLength: 0, edns: false, udpSize: 512, dnssecOk: false };
}

/** Parses a query into a fresh object, with its name as a string. */
export function parseQuery(msg: Uint8Array, scratch: Buffer): ParsedQuery | QueryParseFailure {
  const out = emptyParsedQuery();
  const failure = readQuery(msg, scratch, out);
  if (failure) return failure;
  if (out.nameLength > 0) out.name = scratch.toString('latin1', 0, out.nameLength);
  return out;
}

/**
 * Parses a query into `out` (reused by the caller, so the hot path allocates nothing) and returns
 * null, or returns the failure. Every field but `name` is set; the name is in `scratch[0, nameLength)`.
 */
export function readQuery(msg: Uint8Array, scratch: Buffer, out: ParsedQuery): QueryParseFailure | null {
  const length = msg.length;
  if (length < 12) return { failure: 'drop', id: 0, flags: 0 };
  const id = readU16(msg, 0);
  const flags = readU16(msg, 2);
  // A response sent to us is never answered: answering would let two resolvers loop.
  if (flags & 0x8000) return { failure: 'drop', id, flags };
  if (((flags >> 11) & 0x0f) !== 0) return readOtherOpcode(msg, id, flags);
  const qdcount = readU16(msg, 4);
  const ancount = readU16(msg, 6);
  const nscount = readU16(msg, 8);
  const arcount = readU16(msg, 10);
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0) return { failure: 'formerr', id, flags };

  // Question name: a query's only name cannot be compressed (there is nothing before it to point to).
  let pos = 12;
  let nameLength = 0;
  let wire = 0;
  for (;;) {
    if (pos >= length) return { failure: 'formerr', id, flags };
    const labelLength = msg[pos]!;
    if (labelLength === 0) { pos++; break; }
    if (labelLength > 63) return { failure: 'formerr', id, flags };
    wire += labelLength + 1;
    if (wire > 254 || pos + 1 + labelLength > length) return { failure: 'formerr', id, flags };
    if (nameLength > 0) scratch[nameLength++] = 0x2e;
    for (let i = pos + 1; i <= pos + labelLength; i++) {
      const c = msg[i]!;
      // A dot or a control byte inside a label would make the dotted form ambiguous in lists and logs.
      if (c <= 0x20 || c >= 0x7f || c === 0x2e) return { failure: 'formerr', id, flags };
      scratch[nameLength++] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    }
    pos += labelLength + 1;
  }
  if (pos + 4 > length) return { failure: 'formerr', id, flags };
  const qtype = readU16(msg, pos);
  const qclass = readU16(msg, pos + 2);
  pos += 4;
  const questionEnd = pos;

  let edns = false;
  let udpSize = 512;
  let dnssecOk = false;
  for (let r = 0; r < arcount; r++) {
    const nameStart = pos;
    pos = skipName(msg, pos, length);
    if (pos < 0 || pos + 10 > length) return { failure: 'formerr', id, flags, questionEnd };
    const type = readU16(msg, pos);
    const rdlength = readU16(msg, pos + 8);
    if (pos + 10 + rdlength > length) return { failure: 'formerr', id, flags, questionEnd };
    if (type === TYPE_OPT) {
      // RFC 6891 §6.1.1: one OPT, owner is the root.
      if (edns || pos !== nameStart + 1 || msg[nameStart] !== 0) return { failure: 'formerr', id, flags, questionEnd };
      edns = true;
      udpSize = Math.max(512, readU16(msg, pos + 2));
      const version = msg[pos + 5]!;
      dnssecOk = (msg[pos + 6]! & 0x80) !== 0;
      if (version !== 0) return { failure: 'badvers', id, flags, questionEnd, edns: true };
    }
    pos += 10 + rdlength;
  }

  out.id = id;
  out.flags = flags;
  out.qtype = qtype;
  out.qclass = qclass;
  out.questionEnd = questionEnd;
  out.name = '';
  out.nameLength = nameLength;
  out.edns = edns;
  out.udpSize = udpSize;
  out.dnssecOk = dnssecOk;
  return null;
}

/**
 * RFC 1035 §4.1.1: an OPCODE other than QUERY (STATUS, NOTIFY, UPDATE, unassigned) is answered NOTIMP.
 * The reply still echoes a single question (UPDATE's zone section has the same shape, RFC 2136 §2.3)
 * and carries an OPT record when the request had one (RFC 6891 §7), so the sections before the
 * additional one are skipped to find it. Off the hot path: only reached for a non-QUERY opcode.
 */
function readOtherOpcode(msg: Uint8Array, id: number, flags: number): QueryParseFailure {
  const failure: QueryParseFailure = { failure: 'notimp', id, flags };
  const length = msg.length;
  const qdcount = readU16(msg, 4);
  let pos = 12;
  if (qdcount === 1) {
    // Echoed byte for byte, so it must stand alone: no compression pointer, within 255 octets.
    for (;;) {
      if (pos >= length || pos - 12 > 255) return failure;
      const labelLength = msg[pos]!;
      if (labelLength === 0) { pos++; break; }
      if (labelLength > 63) return failure;
      pos += labelLength + 1;
    }
    if (pos + 4 > length) return failure;
    pos += 4;
    failure.questionEnd = pos;
  } else {
    for (let q = 0; q < qdcount; q++) {
      pos = skipName(msg, pos, length);
      if (pos < 0 || pos + 4 > length) return failure;
      pos += 4;
    }
  }
  const before = readU16(msg, 6) + readU16(msg, 8);
  const arcount = readU16(msg, 10);
  for (let r = 0; r < before + arcount; r++) {
    const nameStart = pos;
    pos = skipName(msg, pos, length);
    if (pos < 0 || pos + 10 > length) return failure;
    const rdlength = readU16(msg, pos + 8);
    if (pos + 10 + rdlength > length) return failure;
    if (r >= before && readU16(msg, pos) === TYPE_OPT && pos === nameStart + 1) {
      failure.edns = true;
      failure.dnssecOk = (msg[pos + 6]! & 0x80) !== 0;
      // RFC 6891 §6.1.3: an unknown EDNS version is answered BADVERS whatever the request asks.
      if (msg[pos + 5]! !== 0) failure.failure = 'badvers';
      return failure;
    }
    pos += 10 + rdlength;
  }
  return failure;
}
