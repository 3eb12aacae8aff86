import { InvalidArgumentError } from 'commander';
import { newIpScratch, parseIpInto } from '../lib/ip/ip-address.js';

/**
 * Option parsers that refuse a malformed value before the command runs: commander reports the flag and
 * the value, and the run exits 2 (usage), never a default or a NaN that turns into a wrong answer.
 */
export function positiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) throw new InvalidArgumentError(`expected a number above zero, got "${value}"`);
  return number;
}

export function nonNegativeNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`expected a number of zero or more, got "${value}"`);
  return number;
}

export function ipAddress(value: string): string {
  if (!parseIpInto(value, newIpScratch())) throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not an IPv4 or IPv6 address`);
  return value;
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'];

export function httpMethod(value: string): string {
  const method = value.toUpperCase();
  if (!HTTP_METHODS.includes(method)) throw new InvalidArgumentError(`"${value.slice(0, 40)}" is not an HTTP method (${HTTP_METHODS.join(', ')})`);
  return method;
}

export function requestPath(value: string): string {
  // RFC 9112 §3.2.1: the origin form is an absolute path, no spaces or control characters.
  if (!value.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(value)) throw new InvalidArgumentError(`"${value.slice(0, 80)}" is not a request path (it starts with / and has no spaces)`);
  return value;
}
