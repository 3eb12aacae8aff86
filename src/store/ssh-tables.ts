/**
 * Table types of the SSH certificate authority (migration 010), kept apart from schema.ts with the
 * same conventions: integer milliseconds, text columns written by one capability (src/ssh).
 */

/** One CA generation. `private_key` is always sealed (`gh-sealed.v1.…`); the plaintext never reaches the database. */
export interface SshCertificateAuthoritiesTable {
  id: string;
  algorithm: 'ssh-ed25519';
  /** OpenSSH public key line (`ssh-ed25519 AAAA… gatehouse-ca-<id>`). */
  public_key: string;
  /** PKCS#8 PEM private key, sealed for `ssh-ca-key:<id>`. */
  private_key: string;
  created_at: number;
  created_by: string;
  /** Trusted until this instant (set when a newer CA supersedes it); null: not superseded. */
  retires_at: number | null;
}
