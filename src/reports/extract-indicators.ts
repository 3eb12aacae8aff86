import { domainToASCII } from 'node:url';
import { parse } from 'tldts';

/** A URL or bare domain found in a report. Nothing here is ever fetched (SSRF: a lure is hostile). */
export interface ExtractedIndicator {
  /** The URL as refanged, or the bare domain. */
  value: string;
  /** Lower-case A-label host name. */
  domain: string;
  /** Registrable domain (public suffix + 1), or the host when it has none (an address, a local name). */
  registrableDomain: string;
  /** Written defanged in the report (`hxxp`, `[.]`, `(dot)`): the reporter or a tool meant it as a threat. */
  defanged: boolean;
  /** A link shortener: the real destination is hidden and is not resolved here. */
  shortened: boolean;
}

/** Well-known link shorteners; their real target is unknown without following the link, which we never do. */
const SHORTENERS = new Set([
  'bit.ly', 'tinyurl.com', 't.co', 'goo.gl', 'ow.ly', 'is.gd', 'buff.ly', 'rebrand.ly', 'cutt.ly', 'shorturl.at',
  'rb.gy', 't.ly', 'tiny.cc', 'bl.ink', 'lnkd.in', 's.id', 'v.gd', 'qrco.de', 'short.io', 'shorturl.com',
]);

const MAX_INDICATORS = 50;

/** Common defanging notations (hxxp, [.], (.), [dot], [:]//, [at]) back to their plain form. */
export function refang(text: string): { text: string; changed: boolean } {
  const out = text
    .replace(/\bhxxp(s?)(\[:\]|:)/gi, 'http$1:')
    .replace(/\bh\*\*p(s?):/gi, 'http$1:')
    .replace(/\bfxp:/gi, 'ftp:')
    .replace(/\[:\]\/\//g, '://')
    .replace(/\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})\s?/gi, '.')
    .replace(/\[\/\]/g, '/');
  return { text: out, changed: out !== text };
}

const URL_PATTERN = /\b(?:https?|ftp):\/\/[^\s<>"'`)\]}]+/gi;
// A bare name: labels of letters, digits, hyphens; the last one alphabetic (a TLD), 2 to 63 characters.
const DOMAIN_PATTERN = /(?<![\p{L}\p{N}@._-])(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}(?![\p{L}\p{N}_-])/gu;

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

function indicator(value: string, rawHost: string, defanged: boolean): ExtractedIndicator | undefined {
  const ascii = domainToASCII(rawHost.toLowerCase());
  if (!ascii || ascii.length > 253) return undefined;
  // A registrable domain needs a known public suffix; file names (`report.pdf`) have none.
  const parsed = parse(ascii, { allowPrivateDomains: false });
  const registrable = parsed.isIcann ? parsed.domain : null;
  if (!registrable) return undefined;
  return { value, domain: ascii, registrableDomain: registrable, defanged, shortened: SHORTENERS.has(ascii) || SHORTENERS.has(registrable) };
}

/**
 * Every URL and domain in a report, including defanged forms, de-duplicated by value; at most 50 (a
 * hostile message listing thousands of names must not turn into thousands of verdict look-ups).
 */
export function extractIndicators(text: string): ExtractedIndicator[] {
  const { text: plain, changed } = refang(text);
  const found = new Map<string, ExtractedIndicator>();
  const add = (item: ExtractedIndicator | undefined) => {
    if (item && !found.has(item.value) && found.size < MAX_INDICATORS) found.set(item.value, item);
  };
  const urlHosts = new Set<string>();
  for (const match of plain.matchAll(URL_PATTERN)) {
    const url = match[0].replace(/[.,;:!?]+$/, '');
    const host = hostOf(url);
    if (!host) continue;
    urlHosts.add(host);
    // Defanged when the original text did not contain the URL as written here.
    add(indicator(url, host, changed && !text.includes(url)));
  }
  for (const match of plain.replace(URL_PATTERN, ' ').matchAll(DOMAIN_PATTERN)) {
    const name = match[0].toLowerCase();
    if (urlHosts.has(name)) continue;
    add(indicator(name, name, changed && !text.includes(match[0])));
  }
  return [...found.values()];
}
