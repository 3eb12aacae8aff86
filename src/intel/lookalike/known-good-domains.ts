import { readFileSync } from 'node:fs';
import { InputError } from '../../lib/errors.js';

/**
 * The known-good prior: registrable domains that are never flagged (a popular-domain list such as
 * Tranco's, refreshed by replacing the file). One name per line, `#` comments and blank lines skipped;
 * a line may be `rank,domain` (the Tranco CSV form). Read once at start-up.
 *
 * The prior hides the detector's errors on the names it lists, so evaluations measure false positives
 * on names held out of it (scripts/eval-lookalike.ts).
 */
export function loadKnownGoodDomains(file: string): ReadonlySet<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`dns.protect.known_good_file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'invalid_config');
  }
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim().toLowerCase();
    if (line.length === 0 || line.startsWith('#')) continue;
    const name = line.slice(line.indexOf(',') + 1).replace(/\.$/, '');
    if (name.length > 0) names.add(name);
  }
  return names;
}
