export { gatehouseConfigSchema, type GatehouseConfig } from './schema.js';
export { loadConfigFile, parseConfig, ConfigError, type ConfigSnapshot } from './load-config.js';
export { watchConfig, type ConfigWatcher } from './config-watcher.js';
export { formatConfigIssues } from './sections/format-issues.js';
