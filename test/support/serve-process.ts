/** Runs Gatehouse in a child process (a second instance, or the server under benchmark). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { builtPath, ROOT } from './paths.js';

export interface GatehouseProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

export async function spawnGatehouse(configPath: string): Promise<GatehouseProcess> {
  // Under vitest, the run's transpiled tree; from a bench (run with tsx), the TypeScript through tsx.
  const entry = process.env.GATEHOUSE_TEST_BUILD
    ? [builtPath('test/support/serve-process-main.ts')]
    : ['--import', 'tsx', join(ROOT, 'test/support/serve-process-main.ts')];
  const child = spawn(process.execPath, [...entry, configPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: ROOT,
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += String(chunk);
      const match = /READY (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`gatehouse process exited with ${code} before it was ready`)));
  });
  return {
    child,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
