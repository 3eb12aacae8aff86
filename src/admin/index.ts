/** Public surface of the admin capability: the JSON admin API on the portal host. */
export { registerAdminApi, type AdminApiDeps } from './register-admin-api.js';
export { refuseBlockedClients } from './refuse-blocked-clients.js';
export { requireAdmin, requireAdminWrite, type AdminAuthSettings, type AdminGate } from './require-admin.js';
