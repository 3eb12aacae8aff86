export type { RotationContext, RotationEvidence, RotationOutcome, RotationTarget, Rotator } from './rotator.js';
export { createPostgresRoleRotator, type PostgresRoleRotatorOptions } from './postgres-role-rotator.js';
export { createSshAuthorizedKeyRotator, type SshAuthorizedKeyRotatorOptions } from './ssh-authorized-key-rotator.js';
export {
  createLocalAuthorizedKeysChannel,
  createSshAuthorizedKeysChannel,
  type AuthorizedKeysChannel,
  type SshAuthorizedKeysChannelOptions,
} from './authorized-keys-channel.js';
export { createExecRotator, type ExecRotatorCommand, type ExecRotatorOptions } from './exec-rotator.js';
export { scramSha256Verifier } from './scram-sha256-verifier.js';
export { rotatorsFromConfig, secretDirectoriesOfRotators, type RotatorsFromConfigOptions } from './rotators-from-config.js';
export { rotationSinkFromConfig, type RotationSink } from './rotation-sink.js';
export { checkSecretTarget, processIsAlive, SECRET_DIR_UNUSABLE, SECRET_TARGET_NOT_A_FILE, sweepStaleSecretTemporaries, writeSecretFile, type StaleSecretSweep } from './write-secret-file.js';
