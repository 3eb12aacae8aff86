/**
 * What the DNS benches need of the processes they measure: free ports, CPU time and RSS from /proc,
 * waiting for a server's first answer, and stopping it.
 */
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** A port free for both UDP and TCP on 127.0.0.1 (dig and dnsperf use one number for both). */
export async function freePort(): Promise<number> {
  for (;;) {
    const socket = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
    const tcp = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => (free ? tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (free) return port;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on (sysconf(_SC_CLK_TCK), proc(5)). */
const CLOCK_TICKS = 100;

/** utime + stime of every thread of `pid`, in microseconds (fields 14-15 of /proc/PID/stat). */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it start past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Sends an A query for `name` until any reply arrives; returns ms since `since`. */
export async function waitForAnswer(port: number, name: string, since: number, timeoutMs = 60_000): Promise<number> {
  const socket = dgram.createSocket('udp4');
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  const query = Buffer.concat([Buffer.from('abcd01000001000000000000', 'hex'), ...labels, Buffer.from('0000010001', 'hex')]);
  try {
    return await new Promise<number>((resolve, reject) => {
      socket.on('message', () => resolve(performance.now() - since));
      const timer = setInterval(() => {
        if (performance.now() - since > timeoutMs) reject(new Error(`no answer on port ${port}`));
        socket.send(query, port, '127.0.0.1');
      }, 10);
      socket.on('close', () => clearInterval(timer));
    });
  } finally {
    socket.close();
  }
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
