/**
 * Public suffixes whose registries register only vetted institutions: `.edu` (accredited US
 * post-secondary schools), `.gov`, `.mil`, `.int` (treaty organisations, IANA), and the academic and
 * government second levels of country codes (`ac.uk`, `edu.au`, `gov.br`, `go.jp`), and brand TLDs,
 * which ICANN's Specification 13 keeps for the brand and its affiliates (`.google`). A phisher cannot
 * register `acme-sso.edu`, so its label is the institution's own name (`<school>-sso` is the school's
 * sign-in host); its subdomains are still examined, since an institution's hosts can be taken over.
 *
 * A pattern is a whole suffix (`edu`) or the first label of a suffix of two or more labels (`gov.*`
 * matches `gov.uk`, not `gov` itself), so that `ac.*` never covers the open `.ac` registry. The
 * detector applies it to ICANN-section suffixes only: the private section lists open registries
 * that read alike (`edu.eu.org`).
 */
export function vettedSuffixMatcher(patterns: readonly string[]): (suffix: string) => boolean {
  const whole = new Set(patterns.filter((p) => !p.endsWith('.*')));
  const firstLabels = new Set(patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -2)));
  if (whole.size === 0 && firstLabels.size === 0) return () => false;
  return (suffix) => {
    if (whole.has(suffix)) return true;
    const dot = suffix.indexOf('.');
    return dot > 0 && firstLabels.has(suffix.slice(0, dot));
  };
}
