import type { Rotator } from '../rotation/index.js';

/** An in-scope inventory item its rotator cannot take, found before anything is rotated. */
export interface RotationTargetProblem {
  item: string;
  rotator: string;
  /** `rotator_unknown` (named in the inventory, not configured) or `locator_invalid`. */
  kind: 'rotator_unknown' | 'locator_invalid';
  problem: string;
}

/**
 * Checks each item's rotator name and locator the way the run will, so a typo in the inventory or a
 * missing `rotators:` entry is named at `campaign start` rather than discovered item by item. An item
 * with no rotator at all is not a problem: it is an owner task by design.
 */
export function checkRotationTargets(items: readonly { id: string; name: string; rotator: string | null; locator: string }[], rotators: ReadonlyMap<string, Rotator>): RotationTargetProblem[] {
  const problems: RotationTargetProblem[] = [];
  const configured = [...rotators.keys()].sort();
  for (const item of items) {
    if (!item.rotator) continue;
    const rotator = rotators.get(item.rotator);
    if (!rotator) {
      const known = configured.length === 0 ? 'no rotator is configured' : `configured: ${configured.join(', ')}`;
      problems.push({ item: item.name, rotator: item.rotator, kind: 'rotator_unknown', problem: `rotator "${item.rotator}" is not configured (${known})` });
      continue;
    }
    let locator: Record<string, string>;
    try {
      locator = JSON.parse(item.locator) as Record<string, string>;
    } catch {
      problems.push({ item: item.name, rotator: item.rotator, kind: 'locator_invalid', problem: 'the locator is not valid JSON' });
      continue;
    }
    const problem = rotator.validate({ itemId: item.id, name: item.name, rotator: item.rotator, locator });
    if (problem) problems.push({ item: item.name, rotator: item.rotator, kind: 'locator_invalid', problem: `rotator ${item.rotator}: ${problem}` });
  }
  return problems;
}
