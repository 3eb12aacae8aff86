/**
 * Public surface of the server capability: the HTTP app and its listeners, the metrics listener, the
 * DoH route and the unknown-host page, the logger, and the client address as the socket reports it.
 * `src/main.ts` wires these together.
 */
export { buildHttpApp, type HostRouter, type HttpAppOptions } from './build-http-app.js';
export { createLogger, redactPath } from './create-logger.js';
export { handleUnknownHost, type UnknownHostOptions } from './handle-unknown-host.js';
export { HTTPS_REDIRECT_OFF_BEHIND_PROXY, httpsRedirectPlan, httpsRedirectTarget, type HttpsRedirectOptions } from './https-redirect.js';
export { DEFAULT_LISTENER_LIMITS, startListeners, type ListenerLimits, type Listeners } from './listeners.js';
export { startMetricsListener, type MetricsConfig, type MetricsListener } from './metrics-listener.js';
export { registerDoh } from './register-doh.js';
export { SERVER_RESTART_ONLY_KEYS } from './server-restart-only-keys.js';
