/**
 * A Gatehouse CLI-like process that declares an incident and kills itself (SIGKILL: no cleanup, no
 * finally blocks) at a chosen point of the playbook, for the resume test.
 * Usage: crash-child.ts CONFIG deliveries N | step NAME
 */
import { IpBlocks } from '../../src/access/ip-blocks.js';
import { loadConfigFile } from '../../src/config/index.js';
import { openCore } from '../../src/core.js';
import { createIncidentResponse } from '../../src/incident/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';

const [configPath, mode, arg] = process.argv.slice(2);
if (!configPath || (mode !== 'deliveries' && mode !== 'step') || !arg) throw new Error('usage: crash-child.ts CONFIG deliveries N | step NAME');
const core = await openCore(loadConfigFile(configPath), { clock: systemClock, random: cryptoRandom });
const ipBlocks = new IpBlocks(core.store, core.clock, core.audit);
await ipBlocks.load();
let delivered = 0;
const die = () => process.kill(process.pid, 'SIGKILL');
const incidents = createIncidentResponse({
  core,
  ipBlocks,
  hooks: {
    onDelivered: () => {
      if (mode === 'deliveries' && ++delivered === Number(arg)) die();
    },
    afterStep: (step) => {
      if (mode === 'step' && step === arg) die();
    },
  },
});
await incidents.declare({ title: `crash drill (${mode} ${arg})`, domains: ['acme-okta.com'], ips: ['198.51.100.23'] }, { actor: 'cli' });
process.stdout.write('FINISHED\n');
process.exit(0);
