import { hostname } from 'node:os';

/**
 * Who holds a lease: the lease names the host and process, so a second run can tell a live holder
 * (wait for it) from one that crashed on this host (kill -9, OOM, a closed terminal: take over at once)
 * instead of waiting out the lease. A pid can only be probed on its own host; elsewhere the lease's
 * expiry decides.
 */
export interface LeaseRunner {
  host: string;
  pid: number;
  /** False only when the process is known to be gone (ESRCH); a live or unprobeable pid is alive. */
  isAlive(pid: number): boolean;
}

export interface LeaseHolder {
  host: string;
  pid: number;
}

export function localLeaseRunner(): LeaseRunner {
  return {
    host: hostname(),
    pid: process.pid,
    isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        // EPERM: the process exists under another user. Only ESRCH proves it is gone.
        return (error as NodeJS.ErrnoException).code !== 'ESRCH';
      }
    },
  };
}

/** Lease owner values are `<host>/<pid>/<uuid>`; the uuid keeps two runs of one process apart. */
export function leaseOwnerOf(runner: LeaseRunner, uuid: string): string {
  return `${encodeURIComponent(runner.host)}/${runner.pid}/${uuid}`;
}

/** The holder named by a lease owner, or undefined for an owner that names none. */
export function leaseHolderOf(owner: string): LeaseHolder | undefined {
  const match = /^([^/]+)\/(\d{1,10})\/[^/]+$/.exec(owner);
  if (!match) return undefined;
  try {
    return { host: decodeURIComponent(match[1]!), pid: Number(match[2]) };
  } catch {
    return undefined;
  }
}

/** True when the holder ran on this host, is not this process, and its process no longer exists. */
export function holderIsDead(runner: LeaseRunner, holder: LeaseHolder | undefined): boolean {
  return holder !== undefined && holder.host === runner.host && holder.pid !== runner.pid && !runner.isAlive(holder.pid);
}
