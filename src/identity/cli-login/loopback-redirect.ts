/**
 * Why a `redirect_uri` is not one the command line may receive a code at, or null when it is.
 *
 * RFC 8252 §7.3: a native app receives the code on the loopback interface, at `http://127.0.0.1:PORT/…`
 * or `http://[::1]:PORT/…`, the port chosen by the app at run time. §8.3: `localhost` is refused: a
 * name can be resolved (hosts file, a hostile resolver) to something other than this computer. Only
 * those IP literals are accepted, so a code is never sent off the person's own computer: a link an
 * attacker crafted delivers the code to the victim's loopback, where nothing of the attacker's listens.
 */
export function loopbackRedirectProblem(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0) return 'redirect_uri is missing';
  if (raw.length > 200) return 'redirect_uri is too long';
  // The URL parser drops tabs and newlines silently: judge the text as sent.
  if (/[\p{Cc}\p{Cf}\p{Z}\\]/u.test(raw)) return 'redirect_uri has a control, space or backslash character';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'redirect_uri is not a URL';
  }
  if (url.protocol !== 'http:') return `redirect_uri scheme ${url.protocol} is not http: (RFC 8252 §7.3 loopback)`;
  if (url.username || url.password) return 'redirect_uri carries credentials';
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') return `redirect_uri host ${url.hostname} is not the loopback IP literal 127.0.0.1 or [::1] (RFC 8252 §7.3, §8.3)`;
  // The authority as written must be the literal too (no `127.1`, `0x7f.1`, `2130706433` spellings).
  const authority = raw.slice('http://'.length).split(/[/?#]/, 1)[0] ?? '';
  if (!/^(127\.0\.0\.1|\[::1\]):\d{1,5}$/.test(authority)) return 'redirect_uri must name its port and spell the loopback address literally';
  const port = Number(url.port);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) return 'redirect_uri port must be 1024-65535';
  if (url.hash) return 'redirect_uri must not have a fragment (RFC 6749 §3.1.2)';
  if (url.search) return 'redirect_uri must not have a query';
  return null;
}
