/**
 * Builders for the responses the gateway writes itself: errors, blocked answers, truncated replies,
 * and the OPT record with an Extended DNS Error option (RFC 8914), which dns-packet does not encode.
 */
import { RCODE_BADVERS, TYPE_A, TYPE_AAAA, TYPE_OPT } from './wire-query.js';

/** RFC 8914 §4: INFO-CODEs the gateway uses. */
export const EDE_STALE_ANSWER = 3;
export const EDE_BLOCKED = 15;
export const EDE_FILTERED = 17;
export const EDE_NO_REACHABLE_AUTHORITY = 22;
export const EDE_OPTION_CODE = 15;

/** Largest UDP payload the gateway sends (DNS Flag Day 2020 value; avoids IP fragmentation). */
export const DEFAULT_MAX_UDP_PAYLOAD = 1232;

export interface ExtendedError {
  infoCode: number;
  /** EXTRA-TEXT: reduced to printable ASCII and at most 200 bytes before it goes on the wire. */
  text: string;
}

function cleanExtraText(text: string): Buffer {
  // The reason may come from a list name or an admin; keep the wire field plain and bounded.
  const printable = text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return Buffer.from(printable, 'latin1');
}

/** RFC 8914 §2: OPTION-CODE 15, INFO-CODE (16 bits), EXTRA-TEXT (UTF-8, not NUL-terminated). */
export function encodeExtendedErrorOption(error: ExtendedError): Buffer {
  const text = cleanExtraText(error.text);
  const option = Buffer.allocUnsafe(6 + text.length);
  option.writeUInt16BE(EDE_OPTION_CODE, 0);
  option.writeUInt16BE(2 + text.length, 2);
  option.writeUInt16BE(error.infoCode, 4);
  text.copy(option, 6);
  return option;
}

/** RFC 6891 §6.1.2-3: the OPT pseudo-record a response carries when the query had one. */
/** An OPT record pre-encoded without and with the DO bit (RFC 6891 §6.1.4): the hot path picks one. */
export interface OptPair {
  readonly plain: Buffer;
  readonly withDo: Buffer;
}

export function encodeOptPair(udpPayload: number, ede?: ExtendedError): OptPair {
  return {
    plain: encodeOptRecord({ udpPayload, ...(ede ? { ede } : {}) }),
    withDo: encodeOptRecord({ udpPayload, dnssecOk: true, ...(ede ? { ede } : {}) }),
  };
}

/** The pair's record for a query: none when the query had no OPT (RFC 6891 §7), DO echoed when set. */
export function optFor(pair: OptPair, query: { edns?: boolean | undefined; dnssecOk?: boolean | undefined }): Buffer | undefined {
  return query.edns ? (query.dnssecOk ? pair.withDo : pair.plain) : undefined;
}

export function encodeOptRecord(options: { udpPayload: number; extendedRcode?: number; dnssecOk?: boolean; ede?: ExtendedError }): Buffer {
  const optionBytes = options.ede ? encodeExtendedErrorOption(options.ede) : undefined;
  const rdlength = optionBytes ? optionBytes.length : 0;
  const record = Buffer.allocUnsafe(11 + rdlength);
  record[0] = 0;
  record.writeUInt16BE(TYPE_OPT, 1);
  record.writeUInt16BE(options.udpPayload, 3);
  record[5] = (options.extendedRcode ?? 0) >> 4;
  record[6] = 0; // EDNS version 0
  record[7] = options.dnssecOk ? 0x80 : 0;
  record[8] = 0;
  record.writeUInt16BE(rdlength, 9);
  if (optionBytes) optionBytes.copy(record, 11);
  return record;
}

/**
 * Response flags: QR, RA, the query's OPCODE (RFC 1035 §4.1.1: copied into the response), RD and CD
 * bits, and the low 4 bits of the RCODE.
 */
export function responseFlags(queryFlags: number, rcode: number, truncated = false): number {
  return 0x8080 | (queryFlags & 0x7910) | (truncated ? 0x0200 : 0) | (rcode & 0x0f);
}

export interface ReplyBase {
  /** The query as received (its question bytes are echoed, keeping the client's 0x20 case). */
  query: Uint8Array;
  id: number;
  flags: number;
  /** End of the question in `query`, or undefined when it could not be read. */
  questionEnd?: number;
  /** Present when the query carried EDNS: the OPT record to append. */
  opt?: Buffer;
}

function header(out: Buffer, id: number, flags: number, qd: number, an: number, ns: number, ar: number): void {
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(qd, 4);
  out.writeUInt16BE(an, 6);
  out.writeUInt16BE(ns, 8);
  out.writeUInt16BE(ar, 10);
}

/** A reply with no records: errors, REFUSED, NXDOMAIN/NODATA for blocked names, TC=1 truncation. */
export function buildEmptyReply(base: ReplyBase, rcode: number, truncated = false): Buffer {
  const questionLength = base.questionEnd !== undefined ? base.questionEnd - 12 : 0;
  const optLength = base.opt ? base.opt.length : 0;
  const out = Buffer.allocUnsafe(12 + questionLength + optLength);
  const lowRcode = rcode === RCODE_BADVERS ? 0 : rcode;
  header(out, base.id, responseFlags(base.flags, lowRcode, truncated), questionLength > 0 ? 1 : 0, 0, 0, base.opt ? 1 : 0);
  if (questionLength > 0) out.set(base.query.subarray(12, base.questionEnd), 12);
  if (base.opt) base.opt.copy(out, 12 + questionLength);
  return out;
}

/** A blocked A/AAAA name answered with the block page address (owner compressed to the question). */
export function buildAddressReply(base: ReplyBase & { questionEnd: number }, qtype: number, address: Buffer, ttl: number): Buffer {
  if ((qtype === TYPE_A && address.length !== 4) || (qtype === TYPE_AAAA && address.length !== 16)) {
    throw new Error('address length does not match the query type');
  }
  const questionLength = base.questionEnd - 12;
  const optLength = base.opt ? base.opt.length : 0;
  const out = Buffer.allocUnsafe(12 + questionLength + 12 + address.length + optLength);
  header(out, base.id, responseFlags(base.flags, 0), 1, 1, 0, base.opt ? 1 : 0);
  out.set(base.query.subarray(12, base.questionEnd), 12);
  let pos = 12 + questionLength;
  out.writeUInt16BE(0xc00c, pos); // RFC 1035 §4.1.4: pointer to the question name at offset 12
  out.writeUInt16BE(qtype, pos + 2);
  out.writeUInt16BE(1, pos + 4);
  out.writeUInt32BE(ttl, pos + 6);
  out.writeUInt16BE(address.length, pos + 10);
  address.copy(out, pos + 12);
  pos += 12 + address.length;
  if (base.opt) base.opt.copy(out, pos);
  return out;
}
