import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { nonPublicRange } from './non-public-range.js';

/** All addresses a host name resolves to (the system resolver by default). */
export type ResolveHost = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface PublicOnlyAgentOptions {
  /** Name resolution; default `dns.lookup` with every address. Tests inject names that resolve to private space. */
  resolveHost?: ResolveHost;
  /**
   * Tests only, never set by the composition root: a non-public endpoint that may still be reached
   * (a fixture server on 127.0.0.1). Without it every non-public address is refused.
   */
  allowNonPublic?: (address: string, port: number) => boolean;
  /** TLS settings for https connections (tests: a private CA). */
  tls?: Pick<ConnectionOptions, 'ca'>;
  /** TCP and TLS connect timeout, ms (undici's default is 10 s). */
  connectTimeoutMs?: number;
}

/** A connection refused because it would reach loopback, private or other special-purpose space. */
export class NonPublicAddressError extends Error {
  readonly code = 'ERR_NON_PUBLIC_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(host === address ? `${address} is ${range} space` : `${host} resolves to ${address} (${range} space)`);
    this.name = 'NonPublicAddressError';
  }
}

const systemResolve: ResolveHost = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * An undici Agent that only connects to public unicast addresses. The check is made on the address
 * the socket is actually opened to: the name is resolved here, every answer is checked (one private
 * answer refuses the name, so a rebinding resolver cannot mix one in), and the socket connects to the
 * checked address itself, so no second resolution can swap it (DNS rebinding, the TOCTOU that a check
 * on the URL's host string alone misses). The socket's peer address is checked again once connected.
 * TLS still sends SNI for, and verifies the certificate against, the URL's host name.
 */
export function createPublicOnlyAgent(options: PublicOnlyAgentOptions = {}): Agent {
  const resolveHost = options.resolveHost ?? systemResolve;
  const connectBase = buildConnector({ ...options.tls, ...(options.connectTimeoutMs ? { timeout: options.connectTimeoutMs } : {}) });

  function refusal(host: string, address: string, port: number): NonPublicAddressError | undefined {
    const range = nonPublicRange(address);
    if (range === undefined || options.allowNonPublic?.(address, port)) return undefined;
    return new NonPublicAddressError(host, address, range);
  }

  async function checkedAddress(host: string, port: number): Promise<string> {
    if (isIP(host)) {
      const refused = refusal(host, host, port);
      if (refused) throw refused;
      return host;
    }
    const answers = await resolveHost(host);
    if (answers.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    for (const { address } of answers) {
      const refused = refusal(host, address, port);
      if (refused) throw refused;
    }
    return answers[0]!.address;
  }

  const connect: buildConnector.connector = (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(connectOptions.port) || (connectOptions.protocol === 'https:' ? 443 : 80);
    checkedAddress(host, port).then(
      (address) => {
        connectBase({ ...connectOptions, hostname: address }, (...result) => {
          const [error, socket] = result;
          if (error) return callback(error, null);
          const peer = socket?.remoteAddress;
          const refused = peer === undefined ? new NonPublicAddressError(host, 'unknown', 'unknown peer') : refusal(host, peer, port);
          if (refused) {
            socket?.destroy();
            return callback(refused, null);
          }
          callback(...result);
        });
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
  return new Agent({ connect });
}
