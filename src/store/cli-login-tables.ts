/**
 * Table types of `gatehouse login` (migration 012), kept apart from schema.ts with the same
 * conventions: integer milliseconds, only hashes of bearer secrets.
 */

/** A one-time authorization code (RFC 6749 §4.1.2), as the SHA-256 of the code. */
export interface CliLoginCodesTable {
  code_hash: string;
  /** The consenting browser session (SHA-256 of its id). */
  session_hash: string;
  /** The exact loopback redirect URI the code was issued for (RFC 6749 §4.1.3: the token request repeats it). */
  redirect_uri: string;
  /** RFC 7636 §4.2 S256 challenge: BASE64URL(SHA256(code_verifier)). */
  code_challenge: string;
  expires_at: number;
  used_at: number | null;
}

/** A command line's credential (`gh-cli-…`), as its SHA-256; a child of the browser session. */
export interface CliCredentialsTable {
  id_hash: string;
  session_hash: string;
  user_id: string;
  /** SHA-256 of the code it was redeemed for: a replay of that code revokes it (RFC 6749 §4.1.2). */
  code_hash: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}
