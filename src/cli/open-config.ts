import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, type ConfigSnapshot } from '../config/index.js';
import type { GatehouseCore } from '../core.js';
import { systemClock } from '../lib/clock.js';
import { InputError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import type { CliContext } from './cli-context.js';

/** The config path: --config, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml (relative to the working folder). */
export function configPathOf(cli: CliContext, file: string | undefined = cli.configFlag()): string {
  return resolve(cli.io.cwd, file ?? cli.io.env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml');
}

export function loadSnapshot(cli: CliContext, file?: string): ConfigSnapshot {
  const path = configPathOf(cli, file);
  if (!existsSync(path)) {
    // A configuration problem, like an invalid file: exit 2, as for `config check`.
    throw new InputError(`no configuration at ${path}: run \`gatehouse init\` or pass --config FILE`, 'config_missing');
  }
  return loadConfigFile(path);
}

/** Opens the store with the service layer for one CLI command, and closes it afterwards. */
export async function withCore<T>(cli: CliContext, run: (core: GatehouseCore) => Promise<T>): Promise<T> {
  const snapshot = loadSnapshot(cli);
  // Loaded on use: `--help`, `config check` and `domain check` never pay for the store and identity code.
  const { openCore } = await import('../core.js');
  const core = await openCore(snapshot, { clock: systemClock, random: cryptoRandom });
  try {
    return await run(core);
  } finally {
    await core.close();
  }
}
