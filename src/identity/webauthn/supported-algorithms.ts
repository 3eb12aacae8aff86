import { COSEALG } from '@simplewebauthn/server/helpers';

/**
 * COSE algorithms we accept for credential keys (RFC 9053), in order of preference: ES256 is what
 * every FIDO2 key supports, EdDSA is newer keys' choice, RS256 is Windows Hello's. Spelled out rather
 * than taken from the library default, which grows (ML-DSA) with library upgrades.
 */
export const SUPPORTED_ALGORITHM_IDS: readonly number[] = Object.freeze([COSEALG.ES256, COSEALG.EdDSA, COSEALG.RS256]);
