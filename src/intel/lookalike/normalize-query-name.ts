import { domainToASCII, domainToUnicode } from 'node:url';

const NON_ASCII = /[^\x00-\x7f]/;

/** No uppercase and no non-ASCII character: the usual query name, which needs no copy. */
function isLowerAscii(text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return false;
  }
  return true;
}

/** RFC 1035 §2.3.4: 253 octets in presentation form (255 on the wire), 63 per label. */
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

export type NormalizedName =
  | { readonly ok: true; readonly ascii: string; readonly unicode: string }
  | { readonly ok: false; readonly name: string; readonly problem: string };

/**
 * Turns a queried name into its ASCII (A-label) form for the public suffix lookup and its Unicode
 * (U-label) form for confusable matching: phishing IDNs arrive as `xn--` labels (RFC 5891 §5) and only
 * their decoded form shows the Cyrillic `а` in `аcme.com`. Never throws: bad input is a problem string.
 */
export function normalizeQueryName(input: unknown): NormalizedName {
  if (typeof input !== 'string') return { ok: false, name: '', problem: 'the name is not a string' };
  if (input.length > MAX_NAME_LENGTH * 4) {
    return { ok: false, name: input.slice(0, 64), problem: `the name is longer than ${MAX_NAME_LENGTH} characters` };
  }
  let name = isLowerAscii(input) ? input : input.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0) return { ok: false, name, problem: 'the name is empty' };
  let ascii = name;
  if (NON_ASCII.test(name)) {
    ascii = domainToASCII(name);
    if (ascii === '') return { ok: false, name, problem: 'the name is not a valid internationalised domain name' };
  }
  if (ascii.length > MAX_NAME_LENGTH) {
    return { ok: false, name, problem: `the name is longer than ${MAX_NAME_LENGTH} characters` };
  }
  let labelLength = 0;
  for (let k = 0; k <= ascii.length; k++) {
    const c = k < ascii.length ? ascii.charCodeAt(k) : 0x2e;
    if (c === 0x2e) {
      if (labelLength === 0) return { ok: false, name, problem: 'the name has an empty label' };
      labelLength = 0;
      continue;
    }
    labelLength++;
    if (labelLength > MAX_LABEL_LENGTH) {
      return { ok: false, name, problem: `a label is longer than ${MAX_LABEL_LENGTH} characters` };
    }
    const ldh = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ldh) return { ok: false, name, problem: `the name has a character not allowed in a DNS label: ${JSON.stringify(ascii[k])}` };
  }
  const unicode = ascii.includes('xn--') ? domainToUnicode(ascii) : ascii;
  // An invalid A-label decodes to '' on Node 20 and is left as it was on Node 22+ (a valid one never
  // decodes to a label that still starts with xn--, RFC 5891 §5.5): both mean invalid punycode.
  if (unicode === '' || /(?:^|\.)xn--/.test(unicode)) return { ok: false, name, problem: 'the name has an invalid punycode (xn--) label' };
  return { ok: true, ascii, unicode };
}
