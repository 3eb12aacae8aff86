import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { isGatehouseError } from '../lib/errors.js';
import type { Database } from '../store/index.js';
import { listSealedValues, type SealedValue } from './sealed-values.js';
import { isSealedValue, requireKeyEncryptionKey, type SecretSealer } from './secret-sealer.js';

export interface ForgetReport {
  signingKeys: string[];
  totpUsers: string[];
  /** SSH CA generations whose key is lost: servers must trust the new CA (`gatehouse ssh ca`). */
  sshCas: string[];
  canary: boolean;
  /** `settings.server_secret`: replaced at the next start (decoy credential ids change, lockouts in progress end). */
  serverSecret: boolean;
  /** Left in place on purpose (see below): prune stays refused until it is dealt with. */
  checkpointKeyUnopenable: boolean;
}

/**
 * Recovery after the key-encryption key is lost: forgets what no key in the current file opens, so the
 * server can start with a new key. Signing keys are deleted (a new one is minted at start; identity
 * tokens signed by the old ones stop verifying), TOTP enrolments are cleared (those users re-enrol), SSH CA
 * generations are deleted (a new CA is created on first use; servers and clients must trust it), the
 * canary and the server secret (the HMAC key for decoy credential ids and the sign-in throttle) are
 * replaced at the next open: every decoy id changes once and lockouts in progress end. The audit
 * checkpoint key is kept: replacing it would re-anchor the audit log under a new key with nothing
 * linking it to the old one, which is exactly what sealing it prevents; retention stays refused until
 * an operator restores the old key file. A plaintext value (a database never opened with a KEK) is
 * under no key, so it is not lost: the next start seals it.
 */
export async function forgetUnopenableSecrets(deps: { db: Kysely<Database>; sealer: SecretSealer; audit: AuditLog; actor: string }): Promise<ForgetReport> {
  const { db, sealer, audit } = deps;
  requireKeyEncryptionKey(sealer);
  const opens = (item: SealedValue) => {
    if (!isSealedValue(item.value)) return true;
    try {
      sealer.unseal(item.value, item.context);
      return true;
    } catch (error) {
      if (isGatehouseError(error) && error.code.startsWith('sealed_value_')) return false;
      throw error;
    }
  };
  const lost = (await listSealedValues(db)).filter((item) => !opens(item));
  const report: ForgetReport = {
    signingKeys: lost.filter((item) => item.location === 'signing_keys.private_jwk').map((item) => item.rowId),
    totpUsers: lost.filter((item) => item.location === 'legacy_factors.totp_secret').map((item) => item.rowId),
    sshCas: lost.filter((item) => item.location === 'ssh_certificate_authorities.private_key').map((item) => item.rowId),
    canary: lost.some((item) => item.rowId === 'kek_canary'),
    serverSecret: lost.some((item) => item.rowId === 'server_secret'),
    checkpointKeyUnopenable: lost.some((item) => item.rowId === 'audit_checkpoint_key'),
  };
  if (report.signingKeys.length + report.totpUsers.length + report.sshCas.length === 0 && !report.canary && !report.serverSecret) return report;
  await db.transaction().execute(async (trx) => {
    for (const item of lost) {
      if (item.location === 'signing_keys.private_jwk') await trx.deleteFrom('signing_keys').where('kid', '=', item.rowId).where('private_jwk', '=', item.value).execute();
      if (item.location === 'legacy_factors.totp_secret') {
        await trx.updateTable('legacy_factors').set({ totp_secret: null, totp_last_step: null }).where('user_id', '=', item.rowId).where('totp_secret', '=', item.value).execute();
      }
      if (item.location === 'ssh_certificate_authorities.private_key') {
        await trx.deleteFrom('ssh_certificate_authorities').where('id', '=', item.rowId).where('private_key', '=', item.value).execute();
      }
      if (item.rowId === 'kek_canary' || item.rowId === 'server_secret') await trx.deleteFrom('settings').where('key', '=', item.rowId).where('value', '=', item.value).execute();
    }
    await audit.record(
      {
        type: 'secrets.forgotten',
        outcome: 'success',
        actor: deps.actor,
        detail: { signing_keys: report.signingKeys, totp_users: report.totpUsers, ssh_cas: report.sshCas, canary: report.canary, server_secret: report.serverSecret, checkpoint_key_unopenable: report.checkpointKeyUnopenable },
      },
      trx,
    );
  });
  return report;
}
