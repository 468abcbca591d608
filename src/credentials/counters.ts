/**
 * How often the hub read a stored credential from the database and decrypted one, since the
 * process started. A test seam (and a number a profile can be checked against): a warm call to an
 * OAuth server or to one with custom user variables should move neither. Process-wide, so hubs
 * sharing a process count together.
 */
export interface CredentialCounters {
  /** Reads of the credentials table by the token and user-variable stores. */
  readonly storeReads: number;
  /** AES-GCM decryptions by any keyring. */
  readonly decryptions: number;
}

const counts = { storeReads: 0, decryptions: 0 };

/** A snapshot of the counters. */
export function credentialCounters(): CredentialCounters {
  return { ...counts };
}

/** Counts one read of the credentials table. */
export function countStoreRead(): void {
  counts.storeReads += 1;
}

/** Counts one decryption. */
export function countDecryption(): void {
  counts.decryptions += 1;
}
