import { InputError } from '../lib/errors.js';
import type { SshCa } from './ssh-ca-ring.js';

/**
 * What servers and clients are told to trust (sshd(8) AUTHORIZED_KEYS / TrustedUserCAKeys in
 * sshd_config(5), and the `@cert-authority` marker of sshd(8) SSH_KNOWN_HOSTS FILE FORMAT). During a
 * rotation's overlap both CAs are listed; after it only the new one.
 */

// known_hosts host patterns: names, addresses, `*`/`?` wildcards, `[host]:port`, `!` negation, commas.
const HOST_PATTERN = /^[A-Za-z0-9.*?:[\]!_,-]{1,1024}$/;

/** The content of the file `TrustedUserCAKeys` names: one public key per line. */
export function trustedUserCaKeys(cas: readonly SshCa[]): string {
  return cas.map((ca) => `${ca.publicKeyLine}\n`).join('');
}

/** known_hosts lines that make a client accept host certificates from these CAs for `hostPattern`. */
export function certAuthorityLines(cas: readonly SshCa[], hostPattern: string): string {
  if (!HOST_PATTERN.test(hostPattern)) throw new InputError(`host pattern ${JSON.stringify(hostPattern)}: expected known_hosts patterns such as *.example.com`, 'usage');
  return cas.map((ca) => `@cert-authority ${hostPattern} ${ca.publicKeyLine}\n`).join('');
}
