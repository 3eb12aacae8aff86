export { gatehouseConfigSchema, type GatehouseConfig } from './schema.js';
export { loadConfigFile, parseConfig, ConfigError, type ConfigSnapshot } from './load-config.js';
export { watchConfig, type ConfigWatcher } from './config-watcher.js';
export { serviceTokenAppNamesOf, type ServiceTokenAppName } from './service-token-app-names.js';
export { configIssues, formatConfigIssues, type ConfigIssue } from './sections/format-issues.js';
// The sections: each schema (tests and benches build a section from plain objects) and the type a
// capability receives. Nothing outside config imports `sections/*` directly.
export {
  accessSchema,
  appsSchema,
  appUpstreamFields,
  policySchema,
  DEFAULT_MAX_QUEUED_REQUESTS,
  DEFAULT_MAX_REQUESTS_PER_CLIENT,
  type AccessConfig,
  type AppConfig,
  type PolicyConfig,
  type SelectorConfig,
  type TimeWindowConfig,
} from './sections/apps.js';
export type { DatabaseConfig } from './sections/database.js';
export { dnsAgeSchema, type DnsAgeAction, type DnsAgeConfig } from './sections/dns-age.js';
export { dnsProtectSchema, type DnsProtectConfig } from './sections/dns-protect.js';
export { dnsConfigSchema, type DnsConfig, type DnsConfigInput } from './sections/dns.js';
export type { IdentityConfig, PortalConfig, SessionsConfig } from './sections/identity.js';
export { incidentSchema, incidentSmtpSchema, smtpRequiresStartTls, type IncidentConfig, type IncidentSmtpConfig } from './sections/incident.js';
export { reportsSchema, type ReportsConfig } from './sections/reports.js';
export { rotatorSchema, rotatorsSchema, type RotationSinkConfig, type RotatorConfig, type RotatorsConfig } from './sections/rotators.js';
export { serverSchema, type ServerConfig } from './sections/server.js';
export { SERVICE_TOKEN_ANOMALY_KINDS, serviceTokensSchema, type ServiceTokensConfig } from './sections/service-tokens.js';
export { sshSchema, type SshConfig } from './sections/ssh.js';
export { tcpSchema, tcpUpstreamOf, type TcpAppConfig, type TcpConfig } from './sections/tcp.js';
export type { WebauthnConfig } from './sections/webauthn.js';
