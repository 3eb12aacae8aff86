import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export interface StoreOutageMonitor {
  /** A request failed because the store is unreachable: logged once per outage, counted every time. */
  failed(error: unknown): void;
  readonly down: boolean;
  close(): void;
}

export interface StoreOutageMonitorOptions {
  logger: Logger;
  registry: Registry;
  /** Resolves when the store answers a trivial query. */
  probe: () => Promise<void>;
  now: () => number;
  /** How often the store is probed while it is down. */
  probeEveryMs?: number;
}

function describe(error: unknown): { code?: string; detail: string } {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return { ...(typeof code === 'string' ? { code } : {}), detail: typeof message === 'string' ? message : String(error) };
}

/**
 * One error line when the database becomes unreachable and one line when it is back, instead of a
 * stack trace per request: an outage under load would otherwise flood the logs and bury its cause.
 * While down, the store is probed on a timer, so the end is noticed even when no request comes.
 */
export function createStoreOutageMonitor({ logger, registry, probe, now, probeEveryMs = 1000 }: StoreOutageMonitorOptions): StoreOutageMonitor {
  const failures = new Counter({
    name: 'gatehouse_store_unavailable_responses_total',
    help: 'Requests answered 503 because the database could not be reached.',
    registers: [registry],
  });
  let downSince: number | undefined;
  let failedDuringOutage = 0;
  let timer: NodeJS.Timeout | undefined;
  let probing = false;

  const stopProbing = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const probeOnce = () => {
    if (probing || downSince === undefined) return;
    probing = true;
    probe().then(
      () => {
        probing = false;
        if (downSince === undefined) return;
        logger.warn({ downForMs: now() - downSince, failedRequests: failedDuringOutage }, 'database reachable again');
        downSince = undefined;
        failedDuringOutage = 0;
        stopProbing();
      },
      () => {
        probing = false;
      },
    );
  };

  return {
    failed(error) {
      failures.inc();
      failedDuringOutage++;
      if (downSince !== undefined) return;
      downSince = now();
      logger.error(describe(error), 'database unreachable; requests that need it are answered 503 until it is back');
      timer = setInterval(probeOnce, probeEveryMs);
      timer.unref();
    },
    get down() {
      return downSince !== undefined;
    },
    close: stopProbing,
  };
}
