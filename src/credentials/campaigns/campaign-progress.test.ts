import { describe, expect, it } from 'vitest';
import { createProgressReporter, progressLine } from './campaign-progress.js';

const at = (done: number, now: number) => ({ total: 6000, done, failed: 1, waiting: 2, ownerTasks: 3, processed: done, startedAt: 0, now });

describe('campaign progress', () => {
  it('shows counts and the rate', () => {
    expect(progressLine(at(400, 8_000))).toBe('400/6000 done · 1 failed · 2 waiting · 3 owner tasks · 50.0/s');
    expect(progressLine(at(0, 0))).toContain('-/s');
  });

  it('redraws one line in place on a terminal, and writes plain lines elsewhere', () => {
    let tty = '';
    const onTty = createProgressReporter({ write: (t) => (tty += t), isTTY: true });
    onTty.update(at(1, 1000));
    onTty.update(at(2, 2000));
    onTty.end();
    expect(tty).toBe(`\r\u001b[2K${progressLine(at(1, 1000))}\r\u001b[2K${progressLine(at(2, 2000))}\n`);
    let plain = '';
    const inLog = createProgressReporter({ write: (t) => (plain += t) });
    inLog.update(at(1, 1000));
    inLog.end();
    expect(plain).toBe(`${progressLine(at(1, 1000))}\n`);
  });
});
