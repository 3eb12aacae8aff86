import { z } from 'zod';

/**
 * `dns.protect`: the brands and real domains the DNS gateway defends against lookalike registrations
 * (the 2022 SMS campaign sent staff to `cloudflare-okta.com`, registered 40 minutes earlier: only a
 * lexical check can catch a name on first sight).
 */

/**
 * Lure words phishing kits pair with a brand: identity providers, IT help, HR and shift-work portals
 * (the group's SMS lures were "your schedule changed", "your VPN expires"), remote access.
 */
export const DEFAULT_PROTECT_KEYWORDS: readonly string[] = [
  // identity provider and sign-in
  'sso', 'okta', 'onelogin', 'adfs', 'idp', 'saml', 'auth', 'login', 'logon', 'signin', 'signon', 'mfa',
  'otp', 'verify', 'verification', 'password', 'reset', 'revoke', 'unlock', 'account', 'accounts', 'id',
  'uid', 'sts', 'secure', 'security', 'identity', 'session',
  // IT help and ticketing
  'help', 'helpdesk', 'servicedesk', 'servicenow', 'support', 'ticket', 'tickets', 'desk', 'it',
  'admin', 'setup', 'incident', 'incidents', 'office',
  // workforce portals
  'hr', 'workday', 'payroll', 'paystub', 'benefits', 'schedule', 'schedules', 'shift', 'shifts',
  'timesheet', 'hour', 'hours', 'emp', 'emps', 'employee', 'employees', 'staff', 'agent', 'agents',
  'work', 'workspace', 'portal', 'intranet', 'internal', 'corp', 'corporate',
  // remote access and environments
  'vpn', 'citrix', 'remote', 'access', 'gateway', 'dashboard', 'dev', 'prod',
];

/**
 * Generic words that make a name look official (`bbtplus`, `yourbbt`, `athene-usa`, `eu-apple`) but
 * also make ordinary business names when glued to a word (`foxplus`, `orangeglobal`): they count
 * beside a brand as separate hyphen tokens, and glued only to a short initialism (`bbt`, `uscc`).
 */
export const DEFAULT_PROTECT_GENERIC_KEYWORDS: readonly string[] = [
  'your', 'info', 'plus', 'global', 'team', 'connect',
  // regions used to look official
  'usa', 'us', 'eu', 'uk', 'emea',
];

/**
 * Words brands use for their own hosts (`shopifycdn.com`, `yahooinc.com`): they count next to a brand
 * only as a separate hyphen token (`bestbuy-cdn.com` was a phishing host of the group). Words that
 * only machines read (`dns`, `edge`, `static`) are left out: they lure nobody.
 */
export const DEFAULT_INFRASTRUCTURE_KEYWORDS: readonly string[] = [
  'cdn', 'api', 'app', 'apps', 'cloud', 'online', 'web', 'mail', 'webmail', 'email', 'inc', 'my',
];

/** Sign-in and IT-help words specific enough that `<anything>-<word>` (or `<word>-<anything>`) is flagged without a brand. */
export const DEFAULT_LURE_SUFFIXES: readonly string[] = [
  'sso', 'okta', 'onelogin', 'adfs', 'saml', 'idp', 'helpdesk', 'servicedesk', 'login', 'signin', 'logon',
  // IT vendors whose portals are imitated for any customer (`<target>-servicenow.com`)
  'servicenow', 'citrix',
];

/**
 * Abbreviations of the workplace systems and offices staff are sent to: a contact centre's case or
 * content management system (`acme-cms`), CRM, ERP, HR systems (HCM, HRIS, employee self-service), and
 * the security officer (`acme-cso`, `acme-ciso`). Lure words as hyphen tokens only: glued, they sit
 * inside ordinary words (`also`, `press`).
 */
export const DEFAULT_WORKPLACE_ABBREVIATIONS: readonly string[] = ['cms', 'crm', 'erp', 'hcm', 'hris', 'ess', 'cso', 'ciso'];

/**
 * Three-consonant abbreviations brands give their own machine hosts (`apple-dns.net`): protocols and
 * file types, read by software, not by the person phished. Not counted as a suspicious abbreviation
 * beside a brand.
 */
export const DEFAULT_MACHINE_ABBREVIATIONS: readonly string[] = [
  'dns', 'cdn', 'ftp', 'ntp', 'rss', 'xml', 'css', 'svg', 'png', 'jpg', 'gfx', 'sdk', 'pkg', 'rpm', 'npm',
];

/**
 * Words that join a lure word to a brand, glued: `workatacme`, `acmeatwork` (a career or staff portal
 * name). They never count alone, so `atacme` and `acmeat` stay what they were.
 */
export const DEFAULT_CONNECTOR_WORDS: readonly string[] = ['at'];

/**
 * Words that name the company itself (`yahooinc.com`, `gapinc.com`): a corporation's site lives under
 * its own suffix, unlike the machine hosts that brands spread over many (`microsoftonline.cn`).
 */
export const DEFAULT_LEGAL_ENTITY_WORDS: readonly string[] = ['inc', 'llc', 'ltd', 'plc'];

/**
 * Words that state a company's reach in its name (US Cellular, Altice USA, Sutherland Global): the rest
 * of the name (`cellular`) is what phishing names use alone (`cellularhr.com`).
 */
export const DEFAULT_SCOPE_WORDS: readonly string[] = ['usa', 'us', 'uk', 'eu', 'emea', 'global', 'international'];

/**
 * Words a company appends to its name in its domain when the bare name was taken or to say what it makes
 * (`postmarkapp.com`, `mongodb.com`, `acmehq.com`): phishing names use the bare name (`mongosso.com`).
 */
export const DEFAULT_NAME_SUFFIX_WORDS: readonly string[] = ['app', 'apps', 'hq', 'db', 'labs', 'group', 'inc', 'tech'];

/**
 * Hyphen tokens that spell a domain inside a label (`com-acme-login.net`, `www-acme.co`): the dot of
 * `acme.com` replaced by a hyphen, a long-standing phishing-kit trick.
 */
export const DEFAULT_DOMAIN_SPELLING_TOKENS: readonly string[] = ['com', 'www'];

/**
 * Country-code TLDs sold worldwide as generic names: a brand rarely has a subsidiary in Colombia or
 * Christmas Island, while phishing kits register `acme.co` and `acme.cx` for their look.
 */
export const DEFAULT_VANITY_CCTLDS: readonly string[] = [
  'ac', 'ai', 'am', 'cc', 'cf', 'co', 'cx', 'fm', 'ga', 'gg', 'gq', 'gs', 'im', 'io', 'la', 'ly', 'me',
  'ml', 'ms', 'nu', 'pw', 'sh', 'so', 'st', 'su', 'tk', 'to', 'tv', 'vc', 'vg', 'ws',
];

/**
 * Suffixes whose registries register only vetted institutions (schools, governments, the military,
 * treaty organisations): `pattern` is a whole suffix, `pattern.*` the first label of a country's
 * second level (`ac.uk`, `edu.au`, `gov.br`, `go.jp`). Brand TLDs (ICANN registry agreement,
 * Specification 13) are open only to the brand itself: `gemini.google` is Google's.
 */
export const DEFAULT_VETTED_SUFFIXES: readonly string[] = [
  'edu', 'gov', 'mil', 'int', 'ac.*', 'edu.*', 'gov.*', 'gob.*', 'go.*', 'govt.*', 'gouv.*', 'mil.*',
  // brand TLDs
  'google', 'youtube', 'android', 'chrome', 'apple', 'microsoft', 'azure', 'windows', 'xbox', 'bing',
  'amazon', 'aws', 'ibm', 'cisco', 'sony', 'canon', 'bmw', 'barclays', 'hsbc',
];

const brandName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'a brand is letters, digits and inner hyphens (an LDH label)');

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/,
    'a domain is dot-separated LDH labels in ASCII (write IDNs as xn--)',
  );

const keyword = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9]{2,32}$/, 'a keyword is 2-32 letters or digits');

export const dnsProtectSchema = z.strictObject({
  brands: z
    .array(brandName)
    .default([])
    .describe(
      'Brand names to defend, as written in domains (`acme`, `t-mobile`, `acmebank`). Hyphens are ignored when matching. Short names (under `min_typo_length`) are only matched as whole tokens or beside a keyword.',
    ),
  domains: z
    .array(domainName)
    .default([])
    .describe(
      'The organisation\'s real registrable domains (`acme.com`). They and their subdomains are never flagged; their first label also counts as a brand for typo and TLD-swap checks.',
    ),
  keywords: z
    .array(keyword)
    .default([...DEFAULT_PROTECT_KEYWORDS])
    .describe('Lure words that make a brand compound suspicious, hyphenated or not (`acme-sso`, `oktaacme`, `acmehr`). Replaces the default list when set.'),
  generic_keywords: z
    .array(keyword)
    .default([...DEFAULT_PROTECT_GENERIC_KEYWORDS])
    .describe(
      'Generic lure words (`plus`, `info`, `usa`): they count beside a brand as hyphen tokens (`acme-usa`), and glued only to a short initialism (`bbtplus`), since glued to a word they make ordinary names (`foxplus`). Replaces the default list when set.',
    ),
  infrastructure_keywords: z
    .array(keyword)
    .default([...DEFAULT_INFRASTRUCTURE_KEYWORDS])
    .describe('Words brands use for their own hosts; they count next to a brand only as a separate hyphen token (`acme-cdn`, not `acmecdn`). Replaces the default list when set.'),
  lure_suffixes: z
    .array(keyword)
    .default([...DEFAULT_LURE_SUFFIXES])
    .describe(
      'Sign-in words so specific that `<anything>-<word>` or `<word>-<anything>` is flagged even without a known brand (the 2022-2025 campaigns registered `<target>-okta.com`, `<target>-sso.com`, `sso-<target>.com`). Empty list disables the rule.',
    ),
  workplace_abbreviations: z
    .array(keyword)
    .default([...DEFAULT_WORKPLACE_ABBREVIATIONS])
    .describe('Abbreviations of workplace systems and offices (`cms`, `hris`, `ciso`): lure words beside a brand as hyphen tokens (`acme-cms`). Replaces the default list when set.'),
  machine_abbreviations: z
    .array(keyword)
    .default([...DEFAULT_MACHINE_ABBREVIATIONS])
    .describe('Three-consonant words of machine hosts (`dns`, `cdn`, `xml`) that do not count as a department\'s initials beside a brand (`acme-dns` is the brand\'s own host style). Replaces the default list when set.'),
  connector_words: z
    .array(keyword)
    .default([...DEFAULT_CONNECTOR_WORDS])
    .describe('Words that join a lure word to a brand when glued (`workatacme`); they never count alone. Replaces the default list when set.'),
  legal_entity_words: z
    .array(keyword)
    .default([...DEFAULT_LEGAL_ENTITY_WORDS])
    .describe('Words that name the company itself (`acmeinc`): the brand plus one of them under another suffix than the brand\'s own is a lookalike (`acmeinc.net` beside `acme.com`). Replaces the default list when set.'),
  scope_words: z
    .array(keyword)
    .default([...DEFAULT_SCOPE_WORDS])
    .describe(
      'Words that state a company\'s reach in its name, at either end (`uscellular`, `alticeusa`): the rest of the name, when at least `min_typo_length` long, counts as the brand beside lure words (`cellularhr`), never alone. Replaces the default list when set.',
    ),
  name_suffix_words: z
    .array(keyword)
    .default([...DEFAULT_NAME_SUFFIX_WORDS])
    .describe(
      'Words a company appends to its name in its domain (`postmarkapp`, `mongodb`, `acmehq`): the name without it, when at least `min_typo_length` long, counts as the brand beside lure words (`mongosso`), never alone. Replaces the default list when set.',
    ),
  domain_spelling_tokens: z
    .array(keyword)
    .default([...DEFAULT_DOMAIN_SPELLING_TOKENS])
    .describe('Hyphen tokens that spell a domain inside a label (`com-acme-login.net`, `www-acme.co`): lure words as hyphen tokens. Replaces the default list when set.'),
  vanity_cctlds: z
    .array(z.string().trim().toLowerCase().regex(/^[a-z]{2}$/, 'a country-code TLD is two letters'))
    .default([...DEFAULT_VANITY_CCTLDS])
    .describe('Country-code TLDs sold worldwide as generic names (`co`, `io`, `me`): the brand\'s exact label under one of them keeps the full score, where under another country\'s suffix it gets `country_tld_swap_score` (a brand may have a subsidiary there). Replaces the default list when set.'),
  vetted_suffixes: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^[a-z0-9-]{2,63}(?:\.\*)?$/, 'a vetted suffix is a label (`edu`) or a label and `.*` (`gov.*`)'),
    )
    .default([...DEFAULT_VETTED_SUFFIXES])
    .describe(
      'Public suffixes open only to vetted institutions (`edu`, `gov`, and with `.*` a country\'s second level: `ac.*` for `ac.uk`, `gov.*` for `gov.br`) or to one brand (`google`, `apple`: ICANN Specification 13 brand TLDs): a phisher cannot register there, so the registrable label (`<school>-sso.edu`) is not examined; subdomains still are. Replaces the default list when set; empty examines every suffix.',
    ),
  cache_entries: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(16_384)
    .describe(
      'Verdicts kept per detector (least recently used dropped first), by queried name and by registrable domain: DNS names repeat, so a repeat costs a map lookup. 0 disables the cache. About 0.5 KB per entry.',
    ),
  threshold: z.number().min(0).max(1).default(0.7).describe('Score (0..1) from which a name is a lookalike.'),
  known_good_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A file of registrable domains never flagged (one per line, or Tranco\'s `rank,domain` CSV): the known-good prior, e.g. a popular-domain list. Refresh by replacing the file and restarting. Unset: only `domains` are exempt.',
    ),
  scorer: z
    .enum(['rules', 'model'])
    .default('rules')
    .describe(
      'How the findings become a score: `rules` (the hand-set score of the strongest finding) or `model` (a logistic regression over the same findings, fit offline by scripts/fit-lookalike-model.ts, whose threshold is set for a false-positive budget and mapped onto `threshold`). Reasons are the same either way.',
    ),
  min_typo_length: z
    .number()
    .int()
    .min(3)
    .max(63)
    .default(5)
    .describe('Shortest brand, in characters, checked for one-edit typos and for look-alike characters inside longer labels. Shorter brands only match as whole labels, whole tokens or beside keywords.'),
  country_tld_swap_score: z
    .number()
    .min(0)
    .max(1)
    .default(0.6)
    .describe('Score (0..1) of a protected label under a country-code suffix (`acme.de`, `acme.co.uk` for `acme.com`): brands register their name in the countries they serve, so by default this alone is not a lookalike (the newly-registered-domain check decides). Vanity ccTLDs (`.co`, `.io`, `.cx`...) score as generic TLDs (0.9).'),
});

export type DnsProtectConfig = z.infer<typeof dnsProtectSchema>;
