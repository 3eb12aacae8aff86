import { GatehouseError } from '../../lib/errors.js';

/** Stable codes of `gatehouse login` and the command line's credential (docs/ssh.md lists them). */
export const CliLoginErrorCode = {
  /** The authorize request is malformed: client_id, response_type, a `plain` or missing challenge, state. */
  badRequest: 'cli_login_bad_request',
  /** The redirect_uri is not a loopback IP literal (RFC 8252 §7.3, §8.3); refused before any redirect. */
  badRedirect: 'cli_login_bad_redirect',
  /** The code is unknown, used, expired, or redeemed with another verifier or redirect_uri. */
  invalidGrant: 'cli_login_invalid_grant',
  /** No credential, or not one Gatehouse issued. */
  credentialInvalid: 'cli_credential_invalid',
  /** The credential outlived its own lifetime. */
  credentialExpired: 'cli_credential_expired',
  /** Logged out, or its browser session was revoked, signed out or ended. */
  credentialRevoked: 'cli_credential_revoked',
} as const;

const LOGIN_AGAIN = 'Your command-line sign-in is not valid any more. Run `gatehouse login`.';

export function credentialRefusal(code: string, detail: string): GatehouseError {
  return new GatehouseError(code, { status: 401, publicMessage: LOGIN_AGAIN, detail });
}

export function grantRefusal(detail: string): GatehouseError {
  return new GatehouseError(CliLoginErrorCode.invalidGrant, { status: 400, publicMessage: 'This sign-in code is not valid. Run `gatehouse login` again.', detail });
}

export function authorizeRefusal(code: string, detail: string): GatehouseError {
  return new GatehouseError(code, { status: 400, publicMessage: 'This command-line sign-in link is not valid. Run `gatehouse login` again.', detail });
}
