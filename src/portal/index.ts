export { registerPortal } from './register-portal.js';
export type { PortalDeps, PortalSettings } from './portal-deps.js';
export { createPortalMetrics, type PortalMetrics } from './portal-metrics.js';
export { messagePage, type PageContext } from './pages.js';
export { html, layout, escapeHtml, type SafeHtml } from './html.js';
export { PORTAL_CSP, setSecurityHeaders } from './security-headers.js';
export { csrfTokenFor, checkCsrf } from './csrf.js';
export { CSRF_COOKIE_NAMES, csrfCookieNameOf, portalSessionCookieNameOf } from './portal-cookie-names.js';
