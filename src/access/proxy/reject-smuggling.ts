import type { IncomingMessage } from 'node:http';

/** Why a request's framing or headers are refused (the `code` of the 400). */
export type SmugglingReason =
  | 'content_length_with_transfer_encoding'
  | 'duplicate_content_length'
  | 'invalid_content_length'
  | 'transfer_encoding_in_http10'
  | 'transfer_encoding_not_chunked'
  | 'duplicate_host'
  | 'invalid_header_name'
  | 'invalid_header_value'
  | 'invalid_request_target'
  | 'request_target_host_mismatch';

// RFC 9110 §5.1: field-name = token; §5.5: field values carry no CR, LF, NUL or other controls (HTAB allowed).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_VALUE_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const DIGITS = /^[0-9]{1,15}$/;

/**
 * Refuses the request shapes that let a front end and a back end disagree about where a message ends
 * (request smuggling, RFC 9112 §6.1 and §6.3) or about which host it is for. Node's parser already
 * refuses most of these before a request exists; this runs again on what reached us, because the
 * upstream may parse more leniently than Node does, and because some shapes (HTTP/1.0 with
 * Transfer-Encoding, `gzip, chunked`, a second Host) do reach the handler. Returns null when the
 * request may be forwarded.
 */
export function rejectSmuggling(req: IncomingMessage): SmugglingReason | null {
  const raw = req.rawHeaders;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (!TOKEN.test(name)) return 'invalid_header_name';
    if (FORBIDDEN_VALUE_CHAR.test(value)) return 'invalid_header_value';
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      // RFC 9112 §6.3 item 5: several lengths (fields or a list) are an unrecoverable framing error here.
      if (contentLength !== undefined) return 'duplicate_content_length';
      contentLength = value.trim();
      if (!DIGITS.test(contentLength)) return 'invalid_content_length';
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    } else if (name.length === 4 && name.toLowerCase() === 'host') {
      // RFC 9112 §3.2: more than one Host field is a 400.
      if (host !== undefined) return 'duplicate_host';
      host = value;
    }
  }
  if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return 'transfer_encoding_in_http10';
    // RFC 9112 §6.1: CL and TE together is the classic smuggling shape; refuse rather than pick one.
    if (contentLength !== undefined) return 'content_length_with_transfer_encoding';
    // RFC 9112 §6.3 item 4: chunked must be final. Any other coding would be dropped when we re-frame
    // the body towards the upstream, so only a lone `chunked` is accepted.
    const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase()).filter(Boolean);
    if (codings.length !== 1 || codings[0] !== 'chunked') return 'transfer_encoding_not_chunked';
  }
  return checkRequestTarget(req.url ?? '', host);
}

/**
 * Origin-form (`/path?q`) is forwarded as is. Absolute-form (RFC 9112 §3.2.2) is accepted only when its
 * authority is the Host we route on: otherwise the upstream could act on a different host than the one
 * the policy was evaluated for.
 */
function checkRequestTarget(target: string, host: string | undefined): SmugglingReason | null {
  if (target.charCodeAt(0) === 47 /* / */) return null;
  const match = /^https?:\/\/([^/?#]+)([/?][^#]*)?$/i.exec(target);
  if (!match) return 'invalid_request_target';
  if (host === undefined || match[1]!.toLowerCase() !== host.trim().toLowerCase()) return 'request_target_host_mismatch';
  return null;
}

/** The origin-form path to send upstream (RFC 9112 §3.2.1). Assumes `rejectSmuggling` returned null. */
export function originFormOf(target: string): string {
  if (target.charCodeAt(0) === 47) return target;
  const match = /^https?:\/\/[^/?#]+([/?][^#]*)?$/i.exec(target);
  const rest = match?.[1] ?? '/';
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}
