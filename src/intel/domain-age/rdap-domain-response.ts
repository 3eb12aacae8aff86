import type { RdapLookupOutcome } from './rdap-lookup-outcome.js';

/** RFC 3339 date-time as RDAP uses it (RFC 9083 §4.5 eventDate). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Event actions that start the current registration period (RFC 9083 §10.2.3, RFC 8056 §2.1). */
const REGISTRATION_ACTIONS = new Set(['registration', 'reregistration']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

/**
 * Reads the registration date out of an RDAP domain object (RFC 9083 §5.3). The body comes from a
 * server we do not control: every member is checked before use, and an answer about another name
 * is refused (it would let one domain borrow another's age).
 */
export function parseRdapDomainResponse(body: Buffer, domain: string, serverUrl: string): RdapLookupOutcome {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return { status: 'error', domain, serverUrl, code: 'rdap_invalid_json', detail: (error as Error).message };
  }
  if (!isRecord(json)) {
    return { status: 'error', domain, serverUrl, code: 'rdap_invalid_response', detail: 'body is not a JSON object' };
  }
  if (json.objectClassName !== undefined && json.objectClassName !== 'domain') {
    return {
      status: 'error',
      domain,
      serverUrl,
      code: 'rdap_invalid_response',
      detail: `objectClassName ${JSON.stringify(json.objectClassName).slice(0, 64)} is not "domain"`,
    };
  }
  if (json.ldhName !== undefined && (typeof json.ldhName !== 'string' || !sameName(json.ldhName, domain))) {
    return {
      status: 'error',
      domain,
      serverUrl,
      code: 'rdap_invalid_response',
      detail: `answer is for ${JSON.stringify(json.ldhName).slice(0, 300)}, not ${domain}`,
    };
  }
  let latest: number | undefined;
  // `events` is optional (RFC 9083 §4.5); malformed entries are skipped rather than trusted.
  if (Array.isArray(json.events)) {
    for (const event of json.events) {
      if (!isRecord(event)) continue;
      const { eventAction, eventDate } = event;
      if (typeof eventAction !== 'string' || !REGISTRATION_ACTIONS.has(eventAction.toLowerCase())) continue;
      if (typeof eventDate !== 'string' || !RFC3339.test(eventDate)) continue;
      const at = Date.parse(eventDate);
      if (!Number.isFinite(at)) continue;
      // The latest registration is the one that counts: a dropped and re-registered name is new.
      if (latest === undefined || at > latest) latest = at;
    }
  }
  if (latest === undefined) return { status: 'no_registration_date', domain, serverUrl };
  return { status: 'registered', domain, registeredAt: latest, serverUrl };
}
