/**
 * "Does this text look like a secret?" — one answer for every place that must keep secrets out of
 * where they do not belong: a credential inventory's locators (where a credential lives, never what
 * it is) and the config file's paths and argv (visible to every local user in the process list). The
 * threat in both is the same: a pasted DSN with a password, a private key or a generated token turning
 * a list of pointers into a second copy of the secrets. Callers name the key, never the value.
 */

/** `password=…`, `secret: …`, a URL with credentials in it, a PEM block: secrets by their context. */
const SECRET_MARKERS = /(pass(word)?|passwd|pwd|secret|token|api[_-]?key|private[_-]?key)\s*[=:]|:\/\/[^/\s:@]+:[^/\s@]+@|-----BEGIN/i;

/** An OpenSSH key fingerprint identifies a public key: high entropy, but not a secret. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Shannon entropy in bits per character. */
function entropyPerChar(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

/**
 * How often a run switches between lower case, upper case and digits, per character (other characters
 * ignored). Random base62/base64 switches at about 6 of 10 characters and lower-case hex at about 5;
 * words, `snake_case`, `CamelCase` names and a temp folder's random suffix stay under 3.
 */
function switchDensity(run: string): number {
  const letters = run.replace(/[^A-Za-z0-9]/g, '');
  const classOf = (ch: string) => (/[0-9]/.test(ch) ? 0 : /[a-z]/.test(ch) ? 1 : 2);
  let switches = 0;
  for (let i = 1; i < letters.length; i += 1) if (classOf(letters[i] as string) !== classOf(letters[i - 1] as string)) switches += 1;
  return switches / Math.max(1, letters.length - 1);
}

/**
 * Generated secrets are long unbroken runs of base64/hex-like characters (`-` and `_` included, as in
 * base64url) with high entropy that keep switching between cases and digits; host names, role names,
 * paths and program names are words split by dots, dashes and slashes.
 */
function looksGenerated(value: string): boolean {
  return value.split(/[\s./:@,]+/).some((whole) => {
    if (!/^[A-Za-z0-9+/_=-]+$/.test(whole)) return false;
    // Words joined by `-` or `_` (`gatehouse-sshd-`, `gh-secret-`) are not what makes a run random, and a
    // temp folder's 6-character suffix after them would otherwise pass for a secret: judge the rest.
    const run = whole
      .split(/[-_]/)
      .filter((part) => !/^(?:[a-z]+|[A-Z][a-z]+|[A-Z]+)$/.test(part))
      .join('');
    if (run.length < 16) return false;
    // Hex has 16 symbols (at most 4 bits per character; a random 64-digit secret falls below 3.5 about
    // once in 3,000) and switches only between digits and six letters; no word is a long run of hex,
    // so it gets lower bars. Long base64 runs get a lower switching bar than short ones: a random one
    // rarely keeps a case for long, a CamelCase name always does (about 0.2).
    if (/^[0-9a-fA-F]+$/.test(run)) return entropyPerChar(run) >= 3.0 && switchDensity(run) >= 0.2;
    return entropyPerChar(run) >= 3.5 && switchDensity(run) >= (run.length >= 32 ? 0.25 : 0.3);
  });
}

/** True when `value` looks like a secret by its context (an assignment, a URL password, a PEM block) or its shape. */
export function looksLikeSecret(value: string): boolean {
  if (FINGERPRINT.test(value)) return false;
  return SECRET_MARKERS.test(value) || looksGenerated(value);
}
