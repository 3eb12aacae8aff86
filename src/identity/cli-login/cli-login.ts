import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../lib/clock.js';
import { isGatehouseError } from '../../lib/errors.js';
import { randomToken, type Random } from '../../lib/random.js';
import { hashSecret } from '../../lib/secret-hash.js';
import { commitChange, type Store } from '../../store/index.js';
import type { SessionManager, SessionView } from '../sessions.js';
import { authorizeRefusal, CliLoginErrorCode, credentialRefusal, grantRefusal } from './cli-login-errors.js';
import { loopbackRedirectProblem } from './loopback-redirect.js';
import { isS256Challenge, verifierMatches } from './pkce.js';

/** The change-feed row of a logged-out credential (the hash of the credential, as stored). */
export const CLI_CREDENTIAL_FEED = { revoked: 'cli_credential.revoked' } as const;

/** RFC 6749 §4.1.2: a code lives minutes at most; one minute covers a browser redirect to loopback. */
export const CLI_LOGIN_CODE_TTL_MS = 60_000;
export const CLI_CLIENT_ID = 'gatehouse-cli';
const CREDENTIAL_PREFIX = 'gh-cli-';
const CREDENTIAL = /^gh-cli-[A-Za-z0-9_-]{43}$/;
const STATE = /^[\x21-\x7e]{8,200}$/;

export interface CliAuthorizeRequest {
  redirectUri: string;
  codeChallenge: string;
  state: string;
}

export interface CliCredentialGrant {
  credential: string;
  expiresAt: number;
  email: string;
}

/**
 * `gatehouse login`: the command line gets a short-lived credential from a signed-in browser through a
 * loopback redirect (RFC 8252 §7.3) with PKCE (RFC 7636, S256 only). No device-code flow (RFC 8628)
 * exists: a device code is phishable by design, since an attacker can start the flow and send the
 * victim the code to approve.
 *
 * How each attack meets this flow (each has a test in test/cli/cli-login-flow.test.ts or
 * test/cli/cli-login-ssh.test.ts, asserting its code):
 * - A crafted authorize link (the attacker's own code_challenge and port): the consent page names the
 *   signed-in person and "this computer"; if approved, the code goes to the victim's own loopback
 *   (127.0.0.1 is always the browser's own machine), where nothing of the attacker's listens, and
 *   without the attacker's verifier nobody else can redeem it anyway.
 * - A redirect_uri that is not a loopback IP literal (another host, `localhost` per RFC 8252 §8.3,
 *   `https:`, a fragment, odd spellings of 127.0.0.1): refused before any redirect, `cli_login_bad_redirect`.
 * - A code replayed, redeemed with a wrong or missing verifier, or with another redirect_uri:
 *   `cli_login_invalid_grant`; the first redemption attempt burns the code whatever its outcome, and a
 *   replay revokes the credential already issued for it (RFC 6749 §4.1.2). A
 *   `plain` challenge is refused at authorize (`cli_login_bad_request`): the verifier would be in the URL.
 * - A code older than a minute: `cli_login_invalid_grant`. Codes are stored only as SHA-256 digests.
 * - Framing the consent page (clickjacking): the portal sends `frame-ancestors 'none'` and
 *   `X-Frame-Options: DENY` on every page. Forging the consent POST (CSRF): the portal's double-submit
 *   token and Origin check refuse it (`csrf_origin`, `csrf_token`).
 * - A stolen credential file: the credential is a child of the browser session, checked at every use,
 *   so revoking or signing out that session refuses it (`cli_credential_revoked`), as does `gatehouse
 *   logout`; it has its own short lifetime (`cli_credential_expired`), never beyond the session's; the
 *   server stores only its SHA-256, and the CLI writes it with mode 0600.
 * - A password+TOTP session: the credential carries the session as it is (AMR, last key proof), so an
 *   `ssh` app that requires `hwk` refuses it with its policy's reason, exactly as the proxy would.
 */
export class CliLogin {
  constructor(
    private readonly store: Store,
    private readonly sessions: SessionManager,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly audit: AuditLog,
    private settings: { credentialMaxMs: number },
  ) {}

  setSettings(settings: { credentialMaxMs: number }): void {
    this.settings = settings;
  }

  /** Checks an authorize request's parameters; throws before any page or redirect when one is wrong. */
  checkAuthorizeRequest(query: Record<string, unknown>): CliAuthorizeRequest {
    // The redirect is judged first: a bad one must never receive even an error redirect (RFC 6749 §4.1.2.1).
    const redirectProblem = loopbackRedirectProblem(query.redirect_uri);
    if (redirectProblem) throw authorizeRefusal(CliLoginErrorCode.badRedirect, redirectProblem);
    if (query.client_id !== CLI_CLIENT_ID) throw authorizeRefusal(CliLoginErrorCode.badRequest, `client_id ${String(query.client_id).slice(0, 64)} is not ${CLI_CLIENT_ID}`);
    if (query.response_type !== 'code') throw authorizeRefusal(CliLoginErrorCode.badRequest, 'response_type must be code');
    if (query.code_challenge_method !== 'S256') throw authorizeRefusal(CliLoginErrorCode.badRequest, `code_challenge_method ${String(query.code_challenge_method).slice(0, 16)} refused: S256 only (RFC 7636 §4.2)`);
    if (!isS256Challenge(query.code_challenge)) throw authorizeRefusal(CliLoginErrorCode.badRequest, 'code_challenge is not a base64url SHA-256');
    if (typeof query.state !== 'string' || !STATE.test(query.state)) throw authorizeRefusal(CliLoginErrorCode.badRequest, 'state is missing or malformed');
    return { redirectUri: query.redirect_uri as string, codeChallenge: query.code_challenge, state: query.state };
  }

  /** After consent: a one-time code bound to this browser session, the redirect URI and the challenge. */
  async issueCode(session: SessionView, request: CliAuthorizeRequest, ip: string): Promise<string> {
    const code = randomToken(this.random, 32);
    await this.store.db
      .insertInto('cli_login_codes')
      .values({ code_hash: hashSecret(code), session_hash: session.idHash, redirect_uri: request.redirectUri, code_challenge: request.codeChallenge, expires_at: this.clock.now() + CLI_LOGIN_CODE_TTL_MS, used_at: null })
      .execute();
    await this.audit.record({ type: 'cli_login.code_issued', outcome: 'success', actor: `user:${session.userId}`, userId: session.userId, ip, detail: { redirect_port: new URL(request.redirectUri).port } });
    return code;
  }

  /** RFC 6749 §4.1.3 with RFC 7636 §4.6: redeems a code once, for a credential tied to its session. */
  async redeemCode(input: { code: unknown; codeVerifier: unknown; redirectUri: unknown }, ip: string): Promise<CliCredentialGrant> {
    try {
      if (typeof input.code !== 'string' || input.code.length < 20 || input.code.length > 100) throw grantRefusal('malformed code');
      const now = this.clock.now();
      const codeHash = hashSecret(input.code);
      // Single use: the update that marks it used is the read, so two redemptions cannot both see it unused.
      const row = await this.store.db
        .updateTable('cli_login_codes')
        .set({ used_at: now })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .returning(['session_hash', 'redirect_uri', 'code_challenge', 'expires_at'])
        .executeTakeFirst();
      if (!row) {
        await this.revokeReplayed(codeHash, ip);
        throw grantRefusal('unknown or already used code (replay?)');
      }
      if (now >= Number(row.expires_at)) throw grantRefusal('code expired');
      if (input.redirectUri !== row.redirect_uri) throw grantRefusal('redirect_uri differs from the one the code was issued for');
      if (!verifierMatches(input.codeVerifier, row.code_challenge)) throw grantRefusal('code_verifier does not match the S256 challenge');
      const session = await this.sessions.validateHash(row.session_hash);
      if (!session) throw grantRefusal('the browser session that consented has ended');
      const credential = `${CREDENTIAL_PREFIX}${randomToken(this.random, 32)}`;
      const expiresAt = Math.min(now + this.settings.credentialMaxMs, session.expiresAt);
      await this.store.db
        .insertInto('cli_credentials')
        .values({ id_hash: hashSecret(credential), session_hash: session.idHash, user_id: session.userId, code_hash: codeHash, created_at: now, expires_at: expiresAt, revoked_at: null })
        .execute();
      await this.audit.record({ type: 'cli_login.credential_issued', outcome: 'success', actor: `user:${session.userId}`, userId: session.userId, ip, detail: { session: session.idHash.slice(0, 16), expires_at: expiresAt } });
      return { credential, expiresAt, email: session.email };
    } catch (error) {
      await this.refused('cli_login.token_refused', error, ip);
      throw error;
    }
  }

  /**
   * The browser session behind a credential, checked at every use: refused when the credential is
   * unknown, revoked, past its lifetime, or its session has ended.
   */
  async validateCredential(raw: unknown, ip: string): Promise<{ session: SessionView; expiresAt: number }> {
    try {
      if (typeof raw !== 'string' || !CREDENTIAL.test(raw)) throw credentialRefusal(CliLoginErrorCode.credentialInvalid, 'missing or malformed credential');
      const row = await this.store.db.selectFrom('cli_credentials').select(['session_hash', 'expires_at', 'revoked_at']).where('id_hash', '=', hashSecret(raw)).executeTakeFirst();
      if (!row) throw credentialRefusal(CliLoginErrorCode.credentialInvalid, 'unknown credential');
      if (row.revoked_at !== null) throw credentialRefusal(CliLoginErrorCode.credentialRevoked, 'credential logged out');
      if (this.clock.now() >= Number(row.expires_at)) throw credentialRefusal(CliLoginErrorCode.credentialExpired, 'credential past its lifetime');
      // Checked, not touched: using the command line does not extend the browser session's idle time.
      const session = await this.sessions.validateHash(row.session_hash, { touch: false });
      if (!session) throw credentialRefusal(CliLoginErrorCode.credentialRevoked, 'its browser session was revoked, signed out or has ended');
      return { session, expiresAt: Number(row.expires_at) };
    } catch (error) {
      await this.refused('cli_login.credential_refused', error, ip);
      throw error;
    }
  }

  /**
   * RFC 6749 §4.1.2: a code presented twice means someone else holds it (browser history, a log of
   * the loopback URL): the credential already issued for it is revoked, whoever redeemed it first.
   */
  private async revokeReplayed(codeHash: string, ip: string): Promise<void> {
    const revoked = await this.store.db
      .updateTable('cli_credentials')
      .set({ revoked_at: this.clock.now() })
      .where('code_hash', '=', codeHash)
      .where('revoked_at', 'is', null)
      .returning(['user_id', 'session_hash'])
      .execute();
    for (const credential of revoked) {
      await this.audit.record({ type: 'cli_login.credential_revoked', outcome: 'success', actor: 'system:code-replay', userId: credential.user_id, ip, code: 'cli_login_code_replayed', detail: { session: credential.session_hash.slice(0, 16) } });
    }
  }

  /** `gatehouse logout`: the credential stops working at once (its session goes on). */
  async revokeCredential(raw: unknown, ip: string): Promise<void> {
    const { session } = await this.validateCredential(raw, ip);
    const idHash = hashSecret(raw as string);
    // With a feed row: every instance closes the tunnels this credential opened (`gatehouse tunnel`).
    await commitChange(this.store, {
      clock: this.clock,
      audit: this.audit,
      write: (trx) => trx.updateTable('cli_credentials').set({ revoked_at: this.clock.now() }).where('id_hash', '=', idHash).execute(),
      feed: { kind: CLI_CREDENTIAL_FEED.revoked, payload: { idHash } },
      event: { type: 'cli_login.credential_revoked', outcome: 'success', actor: `user:${session.userId}`, userId: session.userId, ip, detail: { session: session.idHash.slice(0, 16) } },
    });
  }

  /** An authorize request refused before any page or redirect (`cli_login_bad_redirect`, `cli_login_bad_request`). */
  async auditAuthorizeRefusal(error: unknown, ip: string): Promise<void> {
    await this.refused('cli_login.authorize_refused', error, ip);
  }

  async pruneExpired(): Promise<void> {
    const now = this.clock.now();
    await this.store.db.deleteFrom('cli_login_codes').where('expires_at', '<', now - CLI_LOGIN_CODE_TTL_MS).execute();
    await this.store.db.deleteFrom('cli_credentials').where('expires_at', '<', now).execute();
  }

  private async refused(type: string, error: unknown, ip: string): Promise<void> {
    if (!isGatehouseError(error)) return;
    await this.audit.record({ type, outcome: 'failure', code: error.code, ip, detail: { reason: error.detail ?? null } });
  }
}
