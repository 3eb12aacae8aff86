/**
 * Domain errors: a stable machine-readable `code`, an HTTP `status`, a generic public message and a
 * private `detail` that only ever goes to the audit log or server log (never to the client).
 * Modelled on jose's and node-oidc-provider's error classes: callers branch on `code`, not on text.
 */
export class GatehouseError extends Error {
  readonly code: string;
  readonly status: number;
  /** Safe to show to the client. */
  readonly publicMessage: string;
  /** Never shown to the client: audit log / server log only. */
  readonly detail: string | undefined;

  constructor(
    code: string,
    options: { status?: number; publicMessage?: string; detail?: string; cause?: unknown } = {},
  ) {
    const { status = 400, publicMessage = 'The request could not be completed.', detail, cause } = options;
    super(detail ? `${code}: ${detail}` : code, cause === undefined ? undefined : { cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = status;
    this.publicMessage = publicMessage;
    this.detail = detail;
  }
}

export function isGatehouseError(value: unknown): value is GatehouseError {
  return value instanceof GatehouseError;
}

/** Input that fails validation: names the path and what is wrong (safe to show: no secrets in it). */
export class InputError extends GatehouseError {
  constructor(message: string, code = 'invalid_input') {
    super(code, { status: 400, publicMessage: message, detail: message });
    this.name = 'InputError';
  }
}

export class NotFoundError extends GatehouseError {
  constructor(what: string, code = 'not_found') {
    super(code, { status: 404, publicMessage: `${what} was not found.`, detail: what });
    this.name = 'NotFoundError';
  }
}
