/**
 * Why a presented service token was refused: stable codes for the audit log. The client is shown one
 * generic message whatever the code, so a holder of a stolen client id cannot learn from the answer
 * whether the token exists, is suspended or has expired.
 */
export const SERVICE_TOKEN_REFUSALS = [
  'service_token_malformed',
  'service_token_unknown',
  'service_token_bad_secret',
  'service_token_expired',
  'service_token_suspended',
  'service_token_revoked',
  'service_token_app_not_allowed',
] as const;

export type ServiceTokenRefusal = (typeof SERVICE_TOKEN_REFUSALS)[number];

/** The one message a client sees for any refusal. */
export const SERVICE_TOKEN_PUBLIC_MESSAGE = 'The service token was not accepted.';

/** Codes of refused administrative operations (thrown as `GatehouseError`s). */
export const SERVICE_TOKEN_ERRORS = {
  invalidInput: 'service_token_invalid_input',
  notFound: 'service_token_not_found',
  nameTaken: 'service_token_name_taken',
  ttlTooLong: 'service_token_ttl_too_long',
  overlapInvalid: 'service_token_overlap_invalid',
  revokedIsFinal: 'service_token_revoked_final',
  conflict: 'service_token_conflict',
  /** `--all` without `--yes`: every token of the deployment is not revoked by a slip of the keyboard. */
  confirmationRequired: 'service_token_confirmation_required',
} as const;
