import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { rotationError } from './rotation-error.js';
import type { RotationOutcome, RotationTarget, Rotator } from './rotator.js';
import { runProcess } from './run-process.js';

/** A rotation command from configuration: an argv array, never a shell string. */
export interface ExecRotatorCommand {
  /** `argv[0]` is an absolute path: a relative one would be looked up on PATH, which someone else may control. */
  argv: readonly string[];
  timeoutMs?: number;
  /** Extra environment for the command. Gatehouse's own environment is not passed on: it holds keys. */
  env?: Readonly<Record<string, string>>;
}

export interface ExecRotatorOptions {
  /** The commands an inventory item may name, by name. */
  commands: Readonly<Record<string, ExecRotatorCommand>>;
  defaultTimeoutMs?: number;
  maxOutputBytes?: number;
}

const text = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'control characters');

/** What the command prints on stdout: one JSON object, nothing else, no other keys. */
const rotateOutput = z.strictObject({
  deliveredTo: text(300),
  probe: z.strictObject({ refused: z.boolean(), detail: text(1000) }),
});
const revokeOutput = rotateOutput.extend({ deliveredTo: text(300).optional() });

/**
 * Rotates anything else with a command the operator configured. The command does the rotation, the
 * delivery and the probe, and reports on stdout:
 *
 *   { "deliveredTo": "vault:kv/billing", "probe": { "refused": true, "detail": "401 from api.example" } }
 *
 * The inventory names a command; it never supplies one. The target (item id and locator) goes to the
 * command as JSON on stdin, where no argument or shell can reinterpret it. A non-zero exit, a
 * timeout, output that is not exactly that shape, or a probe that does not say `refused: true` is not
 * evidence. The command's stderr is never copied into errors or logs: a script may print secrets there.
 * Gatehouse runs it again for an item whose outcome it did not record, so a command that changes the
 * target before delivering must write the new secret ahead itself, as the built-in rotators do
 * (docs/credential-campaigns.md, "Crash safety of a rotation").
 */
export function createExecRotator(options: ExecRotatorOptions): Rotator {
  const { commands, defaultTimeoutMs = 60_000, maxOutputBytes = 64 * 1024 } = options;
  for (const [name, command] of Object.entries(commands)) {
    const [program] = command.argv;
    if (!program || !isAbsolute(program) || command.argv.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) {
      throw new TypeError(`exec rotator command "${name}": argv must be a non-empty array of strings starting with an absolute path`);
    }
  }

  function validate(target: RotationTarget): string | undefined {
    const name = target.locator.command;
    if (typeof name !== 'string' || name === '') return 'locator.command is required';
    if (!Object.hasOwn(commands, name)) return `locator.command "${name}" is not a configured rotation command`;
    return undefined;
  }

  async function run(target: RotationTarget, action: 'rotate' | 'revoke'): Promise<z.infer<typeof revokeOutput>> {
    const problem = validate(target);
    if (problem) throw rotationError('rotation_invalid_locator', `exec ${target.itemId}: ${problem}`);
    const name = target.locator.command as string;
    const command = commands[name] as ExecRotatorCommand;
    const timeoutMs = command.timeoutMs ?? defaultTimeoutMs;
    const result = await runProcess(command.argv, {
      stdin: `${JSON.stringify({ action, itemId: target.itemId, locator: target.locator })}\n`,
      timeoutMs,
      maxOutputBytes: maxOutputBytes + 1,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...command.env, GATEHOUSE_ROTATION_ACTION: action, GATEHOUSE_ROTATION_ITEM: target.itemId },
    });
    const what = `exec ${target.itemId}: command "${name}" (${action})`;
    if (result.timedOut) throw rotationError('rotation_exec_timeout', `${what} did not finish within ${timeoutMs} ms and was killed`);
    if (result.spawnError) throw rotationError('rotation_exec_failed', `${what} could not start (${result.spawnError})`);
    if (result.exitCode !== 0) {
      throw rotationError('rotation_exec_failed', `${what} exited ${result.exitCode ?? 'by a signal'} (stderr: ${Buffer.byteLength(result.stderr)} bytes, not shown)`);
    }
    if (Buffer.byteLength(result.stdout) > maxOutputBytes) {
      throw rotationError('rotation_exec_bad_output', `${what} printed more than ${maxOutputBytes} bytes`);
    }
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch {
      // Not the output itself: a script that failed half-way may have printed the secret.
      throw rotationError('rotation_exec_bad_output', `${what} did not print one JSON object (${Buffer.byteLength(result.stdout)} bytes)`);
    }
    const parsed = (action === 'rotate' ? rotateOutput : revokeOutput).safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`).join('; ');
      throw rotationError('rotation_exec_bad_output', `${what} printed JSON of the wrong shape (${issues})`);
    }
    if (parsed.data.probe.refused !== true) {
      throw rotationError('rotation_exec_not_refused', `${what} reports that the old credential was not refused`);
    }
    return parsed.data;
  }

  async function outcome(target: RotationTarget, action: 'rotate' | 'revoke', now: () => number): Promise<RotationOutcome> {
    const output = await run(target, action);
    const at = now();
    return {
      rotatedAt: at,
      deliveredTo: action === 'rotate' ? (output.deliveredTo as string) : 'none',
      evidence: {
        kind: action === 'rotate' ? 'old_credential_refused' : 'revocation_probed',
        at,
        detail: { probe: `exec ${target.locator.command}`, refused: true, answer: output.probe.detail },
      },
    };
  }

  return {
    name: 'exec',
    validate,
    rotate: (target, context) => outcome(target, 'rotate', () => context.now()),
    revoke: (target, context) => outcome(target, 'revoke', () => context.now()),
  };
}
