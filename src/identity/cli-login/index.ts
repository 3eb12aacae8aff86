/** `gatehouse login` on the server side: loopback redirect + PKCE codes and the command line's credential. */
export { CliLogin, CLI_CLIENT_ID, CLI_CREDENTIAL_FEED, CLI_LOGIN_CODE_TTL_MS, type CliAuthorizeRequest, type CliCredentialGrant } from './cli-login.js';
export { CliLoginErrorCode } from './cli-login-errors.js';
export { loopbackRedirectProblem } from './loopback-redirect.js';
export { s256ChallengeOf } from './pkce.js';
