export {
  createSigningKeyRing,
  JWKS_CACHE_CONTROL,
  type ActiveSigningKey,
  type JsonWebKeySet,
  type PublicSigningJwk,
  type SigningKeyRing,
  type SigningKeyRingOptions,
} from './signing-key-ring.js';
export {
  createMemorySigningKeyStore,
  type EcJwk,
  type SigningKeyRecord,
  type SigningKeyStore,
} from './signing-key-store.js';
export { createDatabaseSigningKeyStore } from './database-signing-key-store.js';
export * from './service-tokens/index.js';
export * from './rotation/index.js';
export * from './inventory/index.js';
export * from './campaigns/index.js';
