export {
  generateKeyEncryptionKey,
  keyEncryptionKeyId,
  parseKeyEncryptionKeys,
  serializeKeyEncryptionKeys,
  type KeyEncryptionKey,
  type KeyEncryptionKeys,
} from './key-encryption-keys.js';
export { readKeyEncryptionKeyFile, writeKeyEncryptionKeyFile } from './key-encryption-key-file.js';
export { createKeyEncryptionKeyFile } from './create-key-encryption-key-file.js';
export { createSecretSealer, createUnavailableSealer, isSealedValue, requireKeyEncryptionKey, sealedKeyIdOf, type SecretSealer } from './secret-sealer.js';
export { keyEncryptionKeyFileOf, openSecretSealer, type KeyEncryptionKeySettings } from './open-secret-sealer.js';
export { listSealedValues, signingKeyContext, sshCaKeyContext, totpSecretContext, SEALED_SETTINGS, type SealedLocation, type SealedValue } from './sealed-values.js';
export { sealSecretsAtRest, type SealAtRestReport } from './seal-secrets-at-rest.js';
export { rotateKeyEncryptionKey, type RotateKekResult, type RotationStep } from './rotate-key-encryption-key.js';
export { forgetUnopenableSecrets, type ForgetReport } from './forget-unopenable-secrets.js';
export { loadServerSecret } from './server-secret.js';
