/**
 * docs/production.md's systemd unit, as printed on the page, passes `systemd-analyze verify` with no
 * warning (an unknown or misspelt directive is only a warning there, so any output fails the test); and
 * the new guides link only to pages that exist.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../peers.js';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

function unitFromDoc(): string {
  const doc = readFileSync(join(root, 'docs', 'production.md'), 'utf8');
  const match = /<!-- unit: gatehouse\.service -->\n```ini\n([\s\S]*?)\n```/.exec(doc);
  if (!match) throw new Error('docs/production.md has no gatehouse.service block');
  return `${match[1]!}\n`;
}

const analyze = findExecutable('systemd-analyze');
if (!analyze) {
  if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error('required test peer missing: systemd-analyze (apt-get install systemd)');
  process.stderr.write('\n[SKIPPED] docs/production.md unit check: systemd-analyze not found (apt-get install systemd)\n');
}

describe('production guide', () => {
  it.skipIf(!analyze)('the systemd unit verifies cleanly, and a misspelt directive would not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-unit-'));
    try {
      const verify = async (text: string) => {
        const file = join(dir, 'gatehouse.service');
        writeFileSync(file, text);
        try {
          const { stdout, stderr } = await run(analyze!, ['verify', file], { timeout: 60_000 });
          return { ok: true, output: `${stdout}${stderr}`.trim() };
        } catch (error) {
          return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
        }
      };
      const unit = unitFromDoc();
      expect(unit).toContain('ExecStart=/usr/bin/node /opt/gatehouse/dist/cli/bin.js serve');
      expect(await verify(unit)).toEqual({ ok: true, output: '' });
      const misspelt = await verify(unit.replace('Restart=on-failure', 'Restart=on-failure\nRestartt=always'));
      expect(misspelt.output).toContain('Restartt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('README and the guides link only to files that exist', () => {
    for (const page of ['README.md', 'docs/production.md', 'docs/dns.md', 'docs/app-developers.md']) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
        expect(existsSync(join(root, dirname(page), target!)), `${page} links to ${target}`).toBe(true);
      }
    }
  });
});
