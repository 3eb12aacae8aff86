import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PortalMetrics {
  signIns: Counter<'method' | 'result'>;
  requestDuration: Histogram<'kind' | 'status'>;
}

/** Prometheus metrics of the portal and listener, registered on the injected registry. */
export function createPortalMetrics(registry: Registry, activeSessions: () => Promise<number>): PortalMetrics {
  const signIns = new Counter({
    name: 'gatehouse_sign_ins_total',
    help: 'Sign-in attempts by method (webauthn, password) and result (success or the failure code).',
    labelNames: ['method', 'result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'gatehouse_active_sessions',
    help: 'Sessions neither revoked nor expired.',
    registers: [registry],
    async collect() {
      this.set(await activeSessions());
    },
  });
  const requestDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time to answer an HTTP request on the portal listeners.',
    labelNames: ['kind', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { signIns, requestDuration };
}
