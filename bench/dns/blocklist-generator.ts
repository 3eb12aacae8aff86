/**
 * Deterministic synthetic blocklist for the DNS benchmark: names shaped like real ad/tracker/phishing
 * entries (sub-labels, hyphenated words, digits, a spread of TLDs and public suffixes).
 */
import { seededPrng } from '../../test/support/seeded-prng.js';


const WORDS = (
  'ad ads adserver analytics banner beacon cdn click clicks collect count counter data delivery edge ' +
  'events feed img log logs media metric metrics mobile net news pixel promo px rtb serve served server ' +
  'static stats sync tag tags telemetry track tracker tracking traffic trk video view web widget win ' +
  'secure login account verify update wallet bank pay support service online portal mail cloud app'
).split(' ');
const TLDS = ['com', 'net', 'org', 'io', 'info', 'xyz', 'top', 'ru', 'de', 'co.uk', 'com.br', 'biz', 'online', 'site', 'club', 'cn'];
const PREFIXES = ['', '', '', 'www.', 'ads.', 'cdn.', 'track.', 'static.', 'api.', 'm.', 'img.', 'pixel.'];

export function generateBlocklist(count: number, seed = 42): string[] {
  const random = seededPrng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const names = new Set<string>();
  while (names.size < count) {
    const parts = [pick(WORDS)];
    if (random() < 0.6) parts.push(pick(WORDS));
    let label = parts.join(random() < 0.5 ? '-' : '');
    if (random() < 0.7) label += Math.floor(random() * 100000).toString();
    names.add(`${pick(PREFIXES)}${label}.${pick(TLDS)}`);
  }
  return [...names];
}

export function pickRandom<T>(list: readonly T[], count: number, seed: number): T[] {
  const random = seededPrng(seed);
  return Array.from({ length: count }, () => list[Math.floor(random() * list.length)]!);
}
