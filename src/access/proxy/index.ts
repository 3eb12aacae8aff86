export { createProxy, type AccessProxy, type CreateProxyOptions, type ForwardOptions, type ProxyAppLoad } from './create-proxy.js';
export {
  ASSERTION_HEADER,
  createIdentityAssertionIssuer,
  SERVICE_TOKEN_SUBJECT_PREFIX,
  type AssertedIdentity,
  type AssertedServiceToken,
  type IdentityAssertionIssuer,
  type IdentityAssertionIssuerOptions,
} from './identity-assertion.js';
export { buildForwardedHeaders, forwardedHeadersOf, isHttpsRequest, type ForwardedHeaders, type ReceivedForwarded } from './forwarded-headers.js';
export {
  proxyAppConfigSchema,
  proxyAppOptionsOf,
  resolveProxyApps,
  type ProxyAppOptions,
} from './proxy-app-options.js';
export { renderPlainErrorPage, type ErrorPageContext, type ErrorRenderer, type ProxyLogger } from './proxy-error.js';
export { originFormOf, rejectSmuggling, type SmugglingReason } from './reject-smuggling.js';
export { createTrustedProxies, type TrustedProxies } from './trusted-proxies.js';
export { buildUpstreamRequestHeaders, REQUEST_ID_HEADER } from './upstream-request-headers.js';
export { upstreamTargetOf, upstreamTargetRefusalOf } from './upstream-target.js';
export { rejectUpgrade } from './websocket-upgrade.js';
