import { randomBytes } from 'node:crypto';

/** Randomness as a dependency, so tests can make it predictable where they must. */
export interface Random {
  /** `n` cryptographically random bytes. */
  bytes(n: number): Buffer;
}

/** The real source: the OS CSPRNG. */
export const systemRandom: Random = { bytes: (n) => randomBytes(n) };
