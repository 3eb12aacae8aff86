import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../config/index.js';
import { ManualClock } from './clock.js';
import { seededPrng } from '../../test/support/seeded-prng.js';
import { compilePolicyEngine } from '../access/policy/index.js';
import { ZonedWeekClocks, readWeekMinute, weekMinuteFormat } from './zoned-week-clock.js';

const MINUTE = 60_000;
const SUN = 6 * 1440;
// Europe/Paris in 2026: CET -> CEST at 01:00 UTC on 29 March, CEST -> CET at 01:00 UTC on 25 October.
const SPRING = Date.UTC(2026, 2, 29, 1, 0);
const AUTUMN = Date.UTC(2026, 9, 25, 1, 0);

describe('zoned week clock cache', () => {
  it('follows the spring-forward transition in both directions of time', () => {
    const paris = new ZonedWeekClocks().for('Europe/Paris');
    // Out of order on purpose: the cache must answer per minute, not "the latest".
    expect(paris(SPRING)).toBe(SUN + 3 * 60);
    expect(paris(SPRING - MINUTE)).toBe(SUN + 1 * 60 + 59);
    expect(paris(SPRING + 59_999)).toBe(SUN + 3 * 60);
    expect(paris(SPRING - 1)).toBe(SUN + 1 * 60 + 59);
    expect(paris(SPRING)).toBe(SUN + 3 * 60);
  });

  it('follows the fall-back transition, where one local hour happens twice', () => {
    const paris = new ZonedWeekClocks().for('Europe/Paris');
    expect(paris(AUTUMN - 30 * MINUTE)).toBe(SUN + 2 * 60 + 30); // 02:30 CEST
    expect(paris(AUTUMN + 30 * MINUTE)).toBe(SUN + 2 * 60 + 30); // 02:30 CET, an hour later
    expect(paris(AUTUMN - MINUTE)).toBe(SUN + 2 * 60 + 59);
    expect(paris(AUTUMN)).toBe(SUN + 2 * 60);
  });

  it('two minutes that share a slot never answer for each other', () => {
    const paris = new ZonedWeekClocks().for('Europe/Paris');
    // 256 minutes apart: the same slot of the direct-mapped cache, either side of the transition.
    const before = SPRING - 200 * MINUTE;
    const after = before + 256 * MINUTE;
    const format = weekMinuteFormat('Europe/Paris');
    for (let round = 0; round < 3; round++) {
      expect(paris(before)).toBe(readWeekMinute(format, before));
      expect(paris(after)).toBe(readWeekMinute(format, after));
    }
    expect(readWeekMinute(format, after) - readWeekMinute(format, before)).toBe(256 + 60);
  });

  it.each(['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'UTC'])(
    'agrees with an uncached reading for shuffled instants around transitions (%s)',
    (zone) => {
      const clock = new ZonedWeekClocks().for(zone);
      const format = weekMinuteFormat(zone);
      const rand = seededPrng(7);
      // Lord Howe moves by 30 minutes; Kathmandu and St John's have non-hour offsets.
      const anchors = [SPRING, AUTUMN, Date.UTC(2026, 3, 5, 15, 0), Date.UTC(2026, 9, 4, 15, 30), Date.UTC(2026, 10, 1, 6, 0)];
      for (let i = 0; i < 3000; i++) {
        const at = anchors[i % anchors.length]! + Math.floor((rand() - 0.5) * 48 * 60) * MINUTE + Math.floor(rand() * MINUTE);
        expect(clock(at)).toBe(readWeekMinute(format, at));
      }
    },
  );

  it('an unreadable instant fails closed instead of answering from the cache', () => {
    const paris = new ZonedWeekClocks().for('Europe/Paris');
    paris(0);
    expect(() => paris(Number.NaN)).toThrow(RangeError);
    expect(() => paris(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('time selector across a DST change, with an injected clock', () => {
  const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
    apps: [
      {
        name: 'night',
        host: 'night.acme.test',
        upstream: 'http://127.0.0.1:9',
        policies: [{ name: 'window', action: 'bypass', include: [{ time: { days: ['sun'], hours: ['02:00-03:00'], time_zone: 'Europe/Paris' } }] }],
      },
    ],
  });
  const engine = compilePolicyEngine(config);
  const clock = new ManualClock();
  const decideAt = (ms: number) => {
    clock.set(ms);
    return engine.decide('night', { ip: '10.1.2.3', method: 'GET', path: '/', now: clock.now() }).outcome;
  };

  it('the skipped hour never matches and the repeated hour matches twice, in any order of requests', () => {
    const cases: [number, string][] = [
      [SPRING - MINUTE, 'deny'], // 01:59 CET
      [SPRING, 'deny'], // 03:00 CEST: 02:00-02:59 did not exist that night
      [AUTUMN - 61 * MINUTE, 'deny'], // 01:59 CEST
      [AUTUMN - 60 * MINUTE, 'bypass'], // 02:00 CEST
      [AUTUMN + 30 * MINUTE, 'bypass'], // 02:30 CET
      [AUTUMN + 60 * MINUTE, 'deny'], // 03:00 CET
    ];
    const rand = seededPrng(11);
    for (let round = 0; round < 20; round++) {
      const [at, outcome] = cases[Math.floor(rand() * cases.length)]!;
      expect(decideAt(at)).toBe(outcome);
    }
    for (const [at, outcome] of cases) expect(decideAt(at)).toBe(outcome);
  });
});
