/** Entry point of a Gatehouse child process for tests and benchmarks: prints READY <port>. */
import { loadConfigFile } from '../../src/config/index.js';
import { startGatehouse } from '../../src/main.js';
import { Writable } from 'node:stream';

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: serve.ts CONFIG');
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
const running = await startGatehouse({ snapshot: loadConfigFile(configPath), logDestination: quiet });
process.stdout.write(`READY ${running.httpPort}\n`);
process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
