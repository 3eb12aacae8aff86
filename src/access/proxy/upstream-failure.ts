/**
 * Why an exchange with an upstream failed, as a code `classifyUpstreamFailure` maps to the page the
 * client sees (timeouts 504, the rest 502). The message is for the audit log only.
 */
export type UpstreamFailureCode =
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_RESPONSE_TIMEOUT'
  | 'UPSTREAM_BODY_TIMEOUT'
  | 'UPSTREAM_INVALID_RESPONSE'
  | 'UPSTREAM_CLOSED'
  | 'UPSTREAM_POOL_CLOSED'
  | 'UPSTREAM_QUEUE_FULL'
  | 'UPSTREAM_QUEUE_TIMEOUT'
  | 'CLIENT_ABORTED';

export class UpstreamFailure extends Error {
  constructor(
    readonly code: UpstreamFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

export function invalidResponse(message: string): UpstreamFailure {
  return new UpstreamFailure('UPSTREAM_INVALID_RESPONSE', message);
}
