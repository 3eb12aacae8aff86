import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import type { CliContext } from './cli-context.js';
import { emit } from './output.js';
import { loadSnapshot, withCore } from './open-config.js';

/**
 * The key-encryption key (KEK) that seals private keys at rest: create it, rotate it, see what it seals.
 * The threat model and the procedures are in docs/operations.md, "Key-encryption key".
 */
export function registerSecretsCommands(program: Command, cli: CliContext): void {
  const secrets = program.command('secrets').description('The key-encryption key that seals signing keys, the audit checkpoint key and TOTP secrets');

  secrets
    .command('init-kek')
    .option('--file <path>', 'where to write it (default: server.key_encryption_key_file of the configuration)')
    .option('--json', 'print JSON')
    .description('Create a key-encryption key file (mode 0600); never replaces an existing one')
    .action(async (options: { file?: string; json?: boolean }) => {
      const { createKeyEncryptionKeyFile, keyEncryptionKeyFileOf } = await import('../secrets/index.js');
      let path = options.file === undefined ? undefined : resolve(cli.io.cwd, options.file);
      if (path === undefined) {
        const snapshot = loadSnapshot(cli);
        path = keyEncryptionKeyFileOf(snapshot.config.server, snapshot.baseDir);
        if (path === undefined) throw new GatehouseError('usage', { status: 400, publicMessage: 'pass --file PATH, or set server.key_encryption_key_file in the configuration' });
      }
      const { keyId } = createKeyEncryptionKeyFile(path, { random: cryptoRandom, clock: systemClock });
      const file = path;
      emit(cli, options.json, { keyId, file }, () =>
        [
          `wrote key-encryption key ${keyId} to ${file} (mode 0600)`,
          `set in gatehouse.yaml:  server: { key_encryption_key_file: ${file} }`,
          'back it up apart from the database: without it the signing keys and TOTP enrolments cannot be opened',
        ].join('\n'),
      );
    });

  secrets
    .command('rotate-kek')
    .option('--json', 'print JSON')
    .description('Add a new key, re-seal every sealed value under it in one transaction, then drop the old keys')
    .action(async (options: { json?: boolean }) => {
      const { keyEncryptionKeyFileOf, rotateKeyEncryptionKey } = await import('../secrets/index.js');
      const result = await withCore(cli, async (core) => {
        const snapshot = core.snapshot();
        const path = keyEncryptionKeyFileOf(snapshot.config.server, snapshot.baseDir);
        if (path === undefined) {
          throw new GatehouseError('kek_rotation_needs_file', {
            status: 400,
            publicMessage: core.secrets.available
              ? 'rotate-kek rewrites the key file; with server.key_encryption_key (from the environment) move to a key file first (docs/operations.md, "Key-encryption key")'
              : 'no key-encryption key is configured: create one with `gatehouse secrets init-kek --file PATH` and set server.key_encryption_key_file',
          });
        }
        return rotateKeyEncryptionKey({ db: core.store.db, path, random: core.random, clock: core.clock, audit: core.audit });
      });
      emit(cli, options.json, result, () =>
        [
          `new key-encryption key ${result.newKeyId}; re-sealed ${result.resealed} value(s); dropped ${result.droppedKeyIds.join(', ') || 'nothing'}`,
          'back up the new key file now: the old one no longer opens this database',
        ].join('\n'),
      );
    });

  secrets
    .command('forget-lost')
    .requiredOption('--yes', 'confirm: signing keys and TOTP enrolments sealed under a lost key are deleted')
    .option('--json', 'print JSON')
    .description('After losing the key-encryption key: forget what the configured key cannot open (new signing keys are minted at start; TOTP users re-enrol)')
    .action(async (options: { json?: boolean }) => {
      // Not through withCore: opening the core checks the canary, which is exactly what fails here.
      const [{ openStore }, { createAuditLog }, { forgetUnopenableSecrets, openSecretSealer }] = await Promise.all([
        import('../store/index.js'),
        import('../audit/index.js'),
        import('../secrets/index.js'),
      ]);
      const snapshot = loadSnapshot(cli);
      const sealer = openSecretSealer(snapshot.config.server, snapshot.baseDir, cryptoRandom);
      const store = await openStore({ url: snapshot.config.database.url, baseDir: snapshot.baseDir, poolSize: snapshot.config.database.pool_size });
      let report;
      try {
        report = await forgetUnopenableSecrets({ db: store.db, sealer, audit: createAuditLog({ db: store.db, clock: systemClock }), actor: 'cli' });
      } finally {
        await store.close();
      }
      emit(cli, options.json, report, () =>
        [
          `forgot ${report.signingKeys.length} signing key(s) (new ones are minted at start) and the TOTP enrolment of ${report.totpUsers.length} user(s) (they must re-enrol)`,
          ...(report.sshCas.length > 0 ? [`forgot ${report.sshCas.length} SSH CA generation(s): servers and clients must trust the new CA (\`gatehouse ssh ca\`) and host certificates be re-issued`] : []),
          ...(report.serverSecret ? ['forgot the server secret: a new one is made at start (decoy credential ids change once, sign-in lockouts in progress end)'] : []),
          ...(report.checkpointKeyUnopenable
            ? ['the audit checkpoint key is sealed under the lost key and was kept: `audit prune` stays refused until the old key file is restored']
            : []),
        ].join('\n'),
      );
    });

  secrets
    .command('status')
    .option('--json', 'print JSON')
    .description('Where the key-encryption key comes from and which key each sealed value needs (no secret is printed)')
    .action(async (options: { json?: boolean }) => {
      const { isSealedValue, listSealedValues, sealedKeyIdOf } = await import('../secrets/index.js');
      const status = await withCore(cli, async (core) => {
        const byKey: Record<string, number> = {};
        for (const item of await listSealedValues(core.store.db)) {
          const id = isSealedValue(item.value) ? (sealedKeyIdOf(item.value) ?? 'malformed') : 'plaintext';
          byKey[id] = (byKey[id] ?? 0) + 1;
        }
        return { source: core.secrets.source, primaryKeyId: core.secrets.available ? core.secrets.primaryKeyId() : null, sealedValuesByKey: byKey };
      });
      emit(cli, options.json, status, () =>
        [
          `key-encryption key: ${status.source}${status.primaryKeyId ? ` (primary ${status.primaryKeyId})` : ''}`,
          ...Object.entries(status.sealedValuesByKey).map(([id, count]) => `${String(count).padStart(6)}  ${id === 'plaintext' ? 'not sealed (the next start with a key seals them)' : `sealed under ${id}`}`),
        ].join('\n'),
      );
    });
}
