import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, type ConfigSnapshot } from '../config/index.js';
import { openCore, type GatehouseCore } from '../core.js';
import { systemClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';

/** The config path: --config, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml. */
export function configPathOf(flag: string | undefined): string {
  return resolve(flag ?? process.env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml');
}

export function loadSnapshot(flag: string | undefined): ConfigSnapshot {
  const path = configPathOf(flag);
  if (!existsSync(path)) {
    throw new Error(`no configuration at ${path}: run \`gatehouse init\` or pass --config FILE`);
  }
  return loadConfigFile(path);
}

/** Opens the store with the service layer for one CLI command, and closes it afterwards. */
export async function withCore<T>(configFlag: string | undefined, run: (core: GatehouseCore) => Promise<T>): Promise<T> {
  const core = await openCore(loadSnapshot(configFlag), { clock: systemClock, random: cryptoRandom });
  try {
    return await run(core);
  } finally {
    await core.close();
  }
}
