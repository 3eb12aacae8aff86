/** Runs the real `dig` against a gateway and returns its text output. */
import { execFile } from 'node:child_process';

export function dig(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && !stdout) reject(new Error(`dig failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

export function digStatus(output: string): string | undefined {
  return /status: ([A-Z]+)/.exec(output)?.[1];
}

/** Answer-section lines as [name, ttl, type, data]. */
export function digAnswers(output: string): { name: string; ttl: number; type: string; data: string }[] {
  const section = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(output)?.[1] ?? '';
  return section.split('\n').filter(Boolean).map((line) => {
    const [name = '', ttl = '0', , type = '', ...data] = line.split(/\s+/);
    return { name, ttl: Number(ttl), type, data: data.join(' ') };
  });
}
