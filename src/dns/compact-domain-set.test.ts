import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBlocklist } from './blocklist-parser.js';
import { CompactDomainSetBuilder, type CompactDomainSet } from './compact-domain-set.js';
import { DomainHasher, MAX_LABELS } from './domain-hash.js';

const hasher = new DomainHasher(Buffer.from('0123456789abcdef', 'hex'));
const suffixes = new Uint32Array(2 * MAX_LABELS);

function blocks(set: CompactDomainSet, name: string): boolean {
  const bytes = Buffer.from(name, 'latin1');
  return set.match(suffixes, hasher.hashSuffixes(bytes, bytes.length, suffixes)) >= 0;
}

function load(text: string, format: Parameters<typeof parseBlocklist>[1] = 'auto') {
  const builder = new CompactDomainSetBuilder(8);
  const { stats } = parseBlocklist(Buffer.from(text), format, hasher, builder);
  return { set: builder.build(), stats };
}

/** The reference model: a listed name blocks itself and every subdomain; `*.x` only subdomains. */
function modelBlocks(listed: Set<string>, wildcards: Set<string>, name: string): boolean {
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const suffix = labels.slice(i).join('.');
    if (listed.has(suffix)) return true;
    if (i > 0 && wildcards.has(suffix)) return true;
  }
  return false;
}

const label = fc.stringMatching(/^[a-z0-9]{1,6}$/);
// Dotted quads are addresses, not names, in every list format.
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')).filter((d) => !/^\d+(\.\d+){3}$/.test(d));

describe('CompactDomainSet with the blocklist parser', () => {
  it('agrees with a Set-of-suffixes model on random lists and queries', () => {
    fc.assert(
      fc.property(fc.array(domain, { maxLength: 40 }), fc.array(domain, { maxLength: 10 }), fc.array(domain, { maxLength: 60 }), (plain, wild, queries) => {
        const { set } = load([...plain, ...wild.map((w) => `*.${w}`)].join('\n'));
        const listed = new Set(plain);
        const wildcards = new Set(wild);
        for (const q of [...queries, ...plain, ...plain.map((p) => `sub.${p}`), ...wild, ...wild.map((w) => `x.${w}`)]) {
          expect(blocks(set, q)).toBe(modelBlocks(listed, wildcards, q));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads hosts, adblock, wildcard and plain lines, case-insensitively, and counts what it skips', () => {
    const { set, stats } = load([
      '\uFEFF# comment', '127.0.0.1 localhost', '::1 ip6-localhost', '0.0.0.0 Ads.Example.COM tracker.example.com # trailing', '::  v6.example.com',
      '||adblock.example.net^', '||mod.example.net^$third-party', '@@||allowed.example.net^', '! adblock comment', '[Adblock Plus 2.0]',
      '*.wild.example.org', 'plain.example.org.', 'bad..name', 'under_score.example.org', '   ', 'x'.repeat(64) + '.com',
    ].join('\r\n'));
    for (const name of ['ads.example.com', 'a.b.tracker.example.com', 'v6.example.com', 'adblock.example.net', 'x.wild.example.org', 'plain.example.org', 'under_score.example.org']) {
      expect(blocks(set, name)).toBe(true);
    }
    for (const name of ['localhost', 'example.com', 'mod.example.net', 'allowed.example.net', 'wild.example.org']) {
      expect(blocks(set, name)).toBe(false);
    }
    expect(stats).toMatchObject({ entries: 7, invalid: 2, ignored: 4 });
  });

  it('holds to the declared format', () => {
    expect(load('0.0.0.0 a.test\nb.test\n||c.test^', 'hosts').stats).toMatchObject({ entries: 1, invalid: 2 });
    expect(load('0.0.0.0 a.test\nb.test\n||c.test^', 'domains').stats).toMatchObject({ entries: 1, invalid: 2 });
    expect(load('0.0.0.0 a.test\nb.test\n||c.test^', 'adblock').stats).toMatchObject({ entries: 1, invalid: 2 });
  });

  it('parses a stream split at any point the same as the whole body', () => {
    const text = '0.0.0.0 one.test\n||two.test^\n*.three.test\nfour.test\n';
    fc.assert(
      fc.property(fc.nat(text.length), (cut) => {
        const builder = new CompactDomainSetBuilder(8);
        const body = Buffer.from(text);
        const first = parseBlocklist(body.subarray(0, cut), 'auto', hasher, builder, undefined, { final: false });
        const rest = Buffer.concat([body.subarray(first.consumed, cut), body.subarray(cut)]);
        const second = parseBlocklist(rest, 'auto', hasher, builder, first.stats, { final: true, atStart: false });
        expect(second.stats.entries).toBe(4);
        const set = builder.build();
        for (const name of ['one.test', 'two.test', 'x.three.test', 'four.test']) expect(blocks(set, name)).toBe(true);
      }),
    );
  });

  it('de-duplicates and survives growth past one chunk', () => {
    const builder = new CompactDomainSetBuilder(16);
    const names = Array.from({ length: 1000 }, (_, i) => `n${i % 500}.test`);
    parseBlocklist(Buffer.from(names.join('\n')), 'domains', hasher, builder);
    const set = builder.build();
    expect(set.size).toBe(500);
    expect(blocks(set, 'n499.test')).toBe(true);
    expect(blocks(set, 'n500.test')).toBe(false);
  });
});
