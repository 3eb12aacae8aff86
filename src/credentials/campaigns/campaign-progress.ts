import type { CampaignProgress } from './create-campaigns.js';

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/** `412/6000 done · 3 failed · 0 waiting · 2 owner tasks · 38.5/s`. */
export function progressLine(p: CampaignProgress): string {
  const seconds = (p.now - p.startedAt) / 1000;
  const rate = seconds > 0 ? `${(p.processed / seconds).toFixed(1)}/s` : '-/s';
  return `${p.done}/${p.total} done · ${p.failed} failed · ${p.waiting} waiting · ${p.ownerTasks} owner tasks · ${rate}`;
}

/**
 * Writes progress to a terminal in place (carriage return, clear to end of line) and to anything
 * else as plain lines, so a log file or a CI job gets readable lines, not control characters.
 */
export function createProgressReporter(sink: ProgressSink): { update(p: CampaignProgress): void; end(): void } {
  let drewInPlace = false;
  return {
    update(p) {
      if (sink.isTTY) {
        sink.write(`\r\u001b[2K${progressLine(p)}`);
        drewInPlace = true;
      } else sink.write(`${progressLine(p)}\n`);
    },
    end() {
      if (drewInPlace) sink.write('\n');
    },
  };
}
