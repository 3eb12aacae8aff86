/**
 * A second (third, ...) Gatehouse process opening the same database at once, for the server-secret
 * race tests: `node test/secrets/start-worker.js <config>`. Prints `{ secretDigest, sealedAtOpen }`:
 * a SHA-256 of the HMAC key, never the key.
 */
import { createHash } from 'node:crypto';
import { loadConfigFile } from '../../src/config/index.js';
import { openCore } from '../../src/core.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';

const [configPath] = process.argv.slice(2);
if (!configPath) throw new Error('usage: start-worker <config>');
const core = await openCore(loadConfigFile(configPath), { clock: systemClock, random: cryptoRandom });
try {
  const secretDigest = createHash('sha256').update(core.identity.ctx.serverSecret()).digest('hex');
  process.stdout.write(JSON.stringify({ secretDigest, sealedAtOpen: core.sealedAtOpen?.total ?? 0 }));
} finally {
  await core.close();
}
