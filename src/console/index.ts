/** Public surface of the console capability: the admin console's pages under /admin on the portal host. */
export { registerConsole } from './register-console.js';
export type { ConsoleDeps, ConsoleSettings } from './console-deps.js';
