import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { createExecRotator } from './exec-rotator.js';
import type { RotationContext, RotationTarget } from './rotator.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-exec-rotator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'hunter2-very-secret-value';

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const context: RotationContext = {
  now: () => 1_700_000_000_000,
  deliverSecret: async () => {
    throw new Error('the exec rotator delivers through its command');
  },
};

function messagesOf(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    out.push(current.message, String((current as { detail?: unknown }).detail ?? ''), current.stack ?? '');
    current = current.cause;
  }
  return out.join('\n');
}

const good = script(
  'good.sh',
  `cat > "${dir}/stdin.json"; env > "${dir}/env.txt"; echo '${SECRET}' > "${dir}/delivered"; echo '{"deliveredTo":"file:${dir}/delivered","probe":{"refused":true,"detail":"401 Unauthorized from the wiki API"}}'`,
);
const rotator = createExecRotator({
  defaultTimeoutMs: 20_000,
  commands: {
    good: { argv: [good], env: { WIKI_URL: 'http://127.0.0.1:1' } },
    failing: { argv: [script('failing.sh', `echo 'token ${SECRET} rejected' >&2; exit 3`)] },
    slow: { argv: [script('slow.sh', 'exec sleep 30')], timeoutMs: 200 },
    notJson: { argv: [script('not-json.sh', `echo 'new secret is ${SECRET}'`)] },
    extraKey: { argv: [script('extra.sh', `echo '{"deliveredTo":"x","secret":"${SECRET}","probe":{"refused":true,"detail":"d"}}'`)] },
    stringTrue: { argv: [script('string-true.sh', `echo '{"deliveredTo":"x","probe":{"refused":"true","detail":"d"}}'`)] },
    accepted: { argv: [script('accepted.sh', `echo '{"deliveredTo":"x","probe":{"refused":false,"detail":"200 OK"}}'`)] },
    twoObjects: { argv: [script('two.sh', `echo '{"deliveredTo":"x","probe":{"refused":true,"detail":"d"}}{}'`)] },
    revokeOnly: { argv: [script('revoke.sh', `echo '{"probe":{"refused":true,"detail":"403 after token deleted"}}'`)] },
  },
});
const target = (command: string, extra: Record<string, string> = {}): RotationTarget => ({ itemId: 'wiki-bot', rotator: 'exec', locator: { command, ...extra } });

describe('exec rotator', () => {
  it('runs the configured argv, hands it the target on stdin and a clean environment, and records its evidence', async () => {
    const outcome = await rotator.rotate(target('good', { account: `bot'; rm -rf / #` }), context);
    expect(outcome).toEqual({
      rotatedAt: 1_700_000_000_000,
      deliveredTo: `file:${dir}/delivered`,
      evidence: { kind: 'old_credential_refused', at: 1_700_000_000_000, detail: { probe: 'exec good', refused: true, answer: '401 Unauthorized from the wiki API' } },
    });
    expect(JSON.parse(readFileSync(join(dir, 'stdin.json'), 'utf8'))).toEqual({
      action: 'rotate',
      itemId: 'wiki-bot',
      locator: { command: 'good', account: `bot'; rm -rf / #` },
    });
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toContain('WIKI_URL=http://127.0.0.1:1');
    expect(env).toContain('GATEHOUSE_ROTATION_ACTION=rotate');
    expect(env).not.toMatch(/^VITEST/m);
    expect(env).not.toMatch(/^HOME=/m);
  });

  it('revokes: no delivery needed, the probe still is', async () => {
    const outcome = await rotator.revoke(target('revokeOnly'), context);
    expect(outcome).toMatchObject({ deliveredTo: 'none', evidence: { kind: 'revocation_probed', detail: { answer: '403 after token deleted' } } });
    expect(await codeOf(rotator.rotate(target('revokeOnly'), context))).toBe('rotation_exec_bad_output');
  });

  it.each([
    ['failing', 'rotation_exec_failed'],
    ['slow', 'rotation_exec_timeout'],
    ['notJson', 'rotation_exec_bad_output'],
    ['extraKey', 'rotation_exec_bad_output'],
    ['stringTrue', 'rotation_exec_bad_output'],
    ['twoObjects', 'rotation_exec_bad_output'],
    ['accepted', 'rotation_exec_not_refused'],
  ])('command %s is not evidence: %s, and no secret in the error', async (command, code) => {
    const error = await rotator.rotate(target(command), context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe(code);
    expect(messagesOf(error)).not.toContain(SECRET);
  });

  it('only runs configured commands: the locator names one, it never supplies one', async () => {
    expect(rotator.validate(target('good'))).toBeUndefined();
    expect(rotator.validate(target('/bin/sh -c "id"'))).toMatch(/not a configured rotation command/);
    expect(rotator.validate(target('toString'))).toMatch(/not a configured/);
    expect(rotator.validate({ itemId: 'x', rotator: 'exec', locator: {} })).toMatch(/required/);
    expect(await codeOf(rotator.rotate(target('good; id'), context))).toBe('rotation_invalid_locator');
  });

  it('refuses a configured command that is not an absolute argv', () => {
    expect(() => createExecRotator({ commands: { bad: { argv: ['rotate.sh'] } } })).toThrow(/absolute path/);
    expect(() => createExecRotator({ commands: { bad: { argv: [] } } })).toThrow(/non-empty/);
  });
});
