/**
 * The fixed names of Gatehouse's own cookies besides the two session cookies, whose names are
 * configurable. Kept in one place so the configuration can refuse a session cookie name that would
 * collide with one of them: a browser holds one value per name and host, so a collision lets one
 * cookie overwrite the other (a CSRF token read as a session, a session cleared by a handshake).
 */
export const CSRF_COOKIE = 'gatehouse_csrf';
export const HANDSHAKE_STATE_COOKIE = 'gatehouse_handshake';
export const FIXED_COOKIE_NAMES: readonly string[] = [CSRF_COOKIE, HANDSHAKE_STATE_COOKIE];
