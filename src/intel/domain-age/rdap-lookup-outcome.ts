/** Stable codes for every way an RDAP lookup can fail to give an answer; logged and shown in reasons. */
export type RdapErrorCode =
  | 'rdap_rate_limited'
  | 'rdap_server_error'
  | 'rdap_http_status'
  | 'rdap_timeout'
  | 'rdap_network'
  | 'rdap_too_large'
  | 'rdap_too_many_redirects'
  | 'rdap_bad_redirect'
  /** The server or a redirect target is (or resolves to) loopback, private or other non-public space: refused before any request. */
  | 'rdap_non_public_address'
  | 'rdap_invalid_json'
  | 'rdap_invalid_response'
  /** Too many lookups already in flight: refused without a request (not cached). */
  | 'rdap_overloaded'
  /**
   * The client that asked has started its `client_lookups_per_window` already: refused without a request
   * and without taking shared capacity (not cached, so the next client's query starts the lookup).
   */
  | 'rdap_client_limit';

/**
 * What one RDAP domain query told us about a registrable domain. Every HTTP, network and parsing
 * failure is one of these values: the DNS path branches on `status`, never catches.
 */
export type RdapLookupOutcome =
  /** RFC 9083 §4.5 `registration` (or RFC 8056 `reregistration`) event, ms since the epoch. */
  | { status: 'registered'; domain: string; registeredAt: number; serverUrl: string }
  /** The registry knows the domain but publishes no registration event. */
  | { status: 'no_registration_date'; domain: string; serverUrl: string }
  /** RFC 7480 §5.3: 404 — not registered, or not known to this server. */
  | { status: 'not_found'; domain: string; serverUrl: string }
  /** No RDAP service is listed for the TLD (bootstrap or overrides). */
  | { status: 'no_server'; domain: string }
  | { status: 'error'; domain: string; code: RdapErrorCode; detail: string; serverUrl?: string; retryAfterMs?: number };
