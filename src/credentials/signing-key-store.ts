/**
 * Persistence of signing keys. The key ring owns the rotation logic; a store only keeps records, so
 * the same ring runs over SQLite, PostgreSQL (several instances sharing one ring) or a test double.
 */

/** A P-256 key as a JWK (RFC 7517 §4, RFC 7518 §6.2). `d` is present only on the private half. */
export interface EcJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d?: string;
}

export interface SigningKeyRecord {
  /** Key id, sent in the JWS header (RFC 7515 §4.1.4) and in the JWKS. */
  kid: string;
  alg: 'ES256';
  /** Private key (with `d`). Never leaves the store and the ring. */
  privateJwk: EcJwk;
  /** When the key was created and first published in the JWKS (ms since epoch). */
  createdAt: number;
  /** From this instant the key may sign (ms since epoch): verifiers have had time to fetch it. */
  activatesAt: number;
}

export interface SigningKeyStore {
  load(): Promise<SigningKeyRecord[]>;
  save(record: SigningKeyRecord): Promise<void>;
  remove(kid: string): Promise<void>;
}

/**
 * In-memory store: the test double of the storage (and usable for a throwaway single-process run).
 * Records are copied in and out so callers cannot mutate what is "persisted".
 */
export function createMemorySigningKeyStore(initial: SigningKeyRecord[] = []): SigningKeyStore & {
  records(): SigningKeyRecord[];
} {
  const byKid = new Map<string, SigningKeyRecord>();
  const copy = (record: SigningKeyRecord): SigningKeyRecord => structuredClone(record);
  for (const record of initial) byKid.set(record.kid, copy(record));
  return {
    async load() {
      return [...byKid.values()].map(copy);
    },
    async save(record) {
      byKid.set(record.kid, copy(record));
    },
    async remove(kid) {
      byKid.delete(kid);
    },
    records() {
      return [...byKid.values()].map(copy);
    },
  };
}
