import { randomBytes, randomUUID } from 'node:crypto';

/** Injected randomness: production uses the CSPRNG; tests may pass a seeded source. */
export interface Random {
  bytes(length: number): Buffer;
  uuid(): string;
}

export const cryptoRandom: Random = {
  bytes: (length) => randomBytes(length),
  uuid: () => randomUUID(),
};

/** base64url (RFC 4648 §5) without padding: safe in URLs and cookies. */
export function randomToken(random: Random, bytes = 32): string {
  return random.bytes(bytes).toString('base64url');
}
