import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readUpstreamAnswer } from './upstream-answer.js';
import { isParseFailure, parseQuery } from './wire-query.js';

const label = fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 6 }).map((labels) => labels.join('.'));
const scratch = Buffer.alloc(256);

describe('parseQuery', () => {
  it('reads what dns-packet encodes: id, lower-case name, type, EDNS size and DO bit', () => {
    fc.assert(
      fc.property(name, fc.integer({ min: 0, max: 65535 }), fc.constantFrom('A', 'AAAA', 'MX', 'TXT', 'HTTPS'), fc.option(fc.integer({ min: 1, max: 65535 })), fc.boolean(),
        (qname, id, type, udpSize, dnssecOk) => {
          const packet = dnsPacket.encode({
            type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: qname, type: type as 'A', class: 'IN' }],
            ...(udpSize === null ? {} : { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: udpSize, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer] }),
          });
          const parsed = parseQuery(packet, scratch);
          if (isParseFailure(parsed)) throw new Error(`failed: ${parsed.failure}`);
          expect(parsed.id).toBe(id);
          expect(parsed.name).toBe(qname.toLowerCase());
          expect(parsed.edns).toBe(udpSize !== null);
          if (udpSize !== null) {
            expect(parsed.udpSize).toBe(Math.max(512, udpSize));
            expect(parsed.dnssecOk).toBe(dnssecOk);
          }
          expect(parsed.questionEnd).toBe(12 + qname.length + 2 + 4);
        }),
    );
  });

  it('never throws on arbitrary bytes, and never accepts a name longer than 255 octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const parsed = parseQuery(Buffer.from(bytes), scratch);
        if (!isParseFailure(parsed)) expect(parsed.nameLength).toBeLessThanOrEqual(253);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutations of valid queries (truncation, bit flips)', () => {
    const valid = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'www.example.com', type: 'A' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length }), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 6 }), (cut, flips) => {
        const mutated = Buffer.from(valid.subarray(0, cut));
        for (const [at, value] of flips) if (at < mutated.length) mutated[at] = value;
        parseQuery(mutated, scratch);
      }),
      { numRuns: 5000 },
    );
  });

  it('classifies hostile shapes: responses dropped, other opcodes NOTIMP, EDNS version 1 BADVERS, pointer in question FORMERR', () => {
    expect(parseQuery(Buffer.from('0001800000010000000000000000010001', 'hex'), scratch)).toMatchObject({ failure: 'drop' });
    expect(parseQuery(Buffer.from('0001280000010000000000000000010001', 'hex'), scratch)).toMatchObject({ failure: 'notimp' });
    expect(parseQuery(Buffer.from('000100000001000000000001000001000100002904d0000100000000', 'hex'), scratch)).toMatchObject({ failure: 'badvers' });
    expect(parseQuery(Buffer.from('000100000001000000000000c00c00010001', 'hex'), scratch)).toMatchObject({ failure: 'formerr' });
    // Two OPT records (RFC 6891 §6.1.1).
    expect(parseQuery(Buffer.from('00010000000100000000000200000100010000290200000000000000002902000000000000', 'hex'), scratch)).toMatchObject({ failure: 'formerr' });
  });
});

describe('readUpstreamAnswer', () => {
  const expected = { id: 9, name: 'www.example.com', qtype: 1, qclass: 1 };
  const reply = dnsPacket.encode({
    type: 'response', id: 9, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'www.example.com', type: 'A' }],
    answers: [{ name: 'www.example.com', type: 'A', ttl: 60, data: '192.0.2.1' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
  });

  it('strips the OPT record and records TTL positions', () => {
    const answer = readUpstreamAnswer(reply, expected);
    if (typeof answer === 'string') throw new Error(answer);
    expect(answer.template.readUInt16BE(10)).toBe(0);
    expect(answer.ttls).toEqual([60]);
    expect(answer.template.readUInt32BE(answer.ttlOffsets[0]!)).toBe(60);
    expect(dnsPacket.decode(answer.template).answers?.[0]).toMatchObject({ data: '192.0.2.1' });
  });

  it('rejects replies that do not match the question sent (spoofing)', () => {
    expect(readUpstreamAnswer(reply, { ...expected, id: 10 })).toBe('ID mismatch');
    expect(readUpstreamAnswer(reply, { ...expected, name: 'www.example.org' })).toBe('question mismatch');
    expect(readUpstreamAnswer(reply, { ...expected, qtype: 28 })).toBe('question mismatch');
  });

  it('rejects a compression loop (a pointer to itself or forwards)', () => {
    const looped = Buffer.from(reply);
    const answerName = 12 + 17 + 4;
    looped.writeUInt16BE(0xc000 | answerName, answerName);
    expect(readUpstreamAnswer(looped, expected)).toBe('malformed record');
  });

  it('never throws on mutated replies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: reply.length }), fc.array(fc.tuple(fc.nat(reply.length - 1), fc.nat(255)), { maxLength: 8 }), (cut, flips) => {
        const mutated = Buffer.from(reply.subarray(0, cut));
        for (const [at, value] of flips) if (at < mutated.length) mutated[at] = value;
        readUpstreamAnswer(mutated, expected);
      }),
      { numRuns: 5000 },
    );
  });
});
