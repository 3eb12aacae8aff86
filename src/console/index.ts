/** Public surface of the console capability: the admin console's pages under /admin on the portal host. */
export { registerConsole, type ConsoleHandle } from './register-console.js';
export { overviewNaive } from './overview-naive.js';
export { readOverview, type Overview } from './overview-query.js';
export { rollUpOverview } from './overview-rollups.js';
export { OVERVIEW_RANGE_NAMES, type OverviewRange, type OverviewSeries } from './overview-range.js';
export type { ConsoleDeps, ConsoleSettings } from './console-deps.js';
