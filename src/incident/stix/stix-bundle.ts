import { createHash } from 'node:crypto';
import { singleHostOf, type Indicators } from '../indicators.js';

/** STIX 2.1 (OASIS CS02) objects Gatehouse exports: just what sharing indicators needs. */
export interface StixObject {
  type: string;
  spec_version: '2.1';
  id: string;
  created: string;
  modified: string;
  [property: string]: unknown;
}

export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/**
 * A name-based UUID (RFC 9562 §5.5, version 5) from the incident and the object's content: the same
 * incident always exports the same ids, so a resumed or repeated export does not mint new objects
 * for the receivers to de-duplicate.
 */
export function stableUuid(namespace: string, name: string): string {
  const hash = createHash('sha1').update(namespace).update('\0').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** STIX patterning §9.2: string literals are single-quoted; `\` and `'` are escaped with `\`. */
export function stixString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * STIX 2.1 §6.4.1 / §6.5.1: `ipv4-addr` and `ipv6-addr` values are one address or a CIDR block. A
 * host prefix (/32 for IPv4, /128 for IPv6) is written as the bare address; any shorter prefix is kept,
 * so `2001:db8::/32` stays the whole /32 and is not narrowed to the single address `2001:db8::`.
 */
export function stixAddressValue(cidr: string): string {
  return singleHostOf(cidr) ?? cidr;
}

export function patternFor(kind: 'domain' | 'ip' | 'url', value: string): string {
  if (kind === 'domain') return `[domain-name:value = ${stixString(value)}]`;
  if (kind === 'url') return `[url:value = ${stixString(value)}]`;
  const type = value.includes(':') ? 'ipv6-addr' : 'ipv4-addr';
  return `[${type}:value = ${stixString(value)}]`;
}

export interface StixExportInput {
  incidentId: string;
  title: string;
  organisation: string;
  declaredAt: number;
  indicators: Indicators;
}

/**
 * The incident's indicators as a STIX 2.1 bundle: an identity (who shares), one indicator per domain,
 * address and URL with a STIX pattern, and a report that references them. User emails are never
 * exported: they are our staff, not the attacker's infrastructure.
 */
export function buildStixBundle(input: StixExportInput): StixBundle {
  const at = new Date(input.declaredAt).toISOString();
  const id = (type: string, name: string) => `${type}--${stableUuid(input.incidentId, `${type}:${name}`)}`;
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: id('identity', input.organisation),
    created: at,
    modified: at,
    name: input.organisation,
    identity_class: 'organization',
  };
  const entries: { kind: 'domain' | 'ip' | 'url'; value: string; label: string }[] = [
    ...input.indicators.domains.map((value) => ({ kind: 'domain' as const, value, label: 'Phishing domain' })),
    ...input.indicators.ips.map((value) => ({ kind: 'ip' as const, value: stixAddressValue(value), label: 'Attacker address' })),
    ...input.indicators.urls.map((value) => ({ kind: 'url' as const, value, label: 'Phishing URL' })),
  ];
  const indicators: StixObject[] = entries.map((entry) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: id('indicator', `${entry.kind}:${entry.value}`),
    created: at,
    modified: at,
    created_by_ref: identity.id,
    name: `${entry.label}: ${entry.value}`,
    description: `Seen in incident "${input.title}" (${input.incidentId}).`,
    indicator_types: ['malicious-activity'],
    pattern: patternFor(entry.kind, entry.value),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: at,
    labels: ['phishing'],
  }));
  const report: StixObject = {
    type: 'report',
    spec_version: '2.1',
    id: id('report', 'report'),
    created: at,
    modified: at,
    created_by_ref: identity.id,
    name: input.title,
    description: `Indicators from ${input.organisation} incident ${input.incidentId}.`,
    report_types: ['threat-report'],
    published: at,
    object_refs: [identity.id, ...indicators.map((i) => i.id)],
  };
  return { type: 'bundle', id: id('bundle', 'bundle'), objects: [identity, ...indicators, report] };
}
