/**
 * persistent: a misconfiguration that will not fix itself (access denied, not found, invalid) — ERROR.
 * transient: throttling, 5xx, network — WARN, retried.
 * unavailable: the source cannot be used here at all (no region, SDK not installed, no workload token) — WARN.
 */
export type CredentialErrorKind = 'persistent' | 'transient' | 'unavailable';

/** Why a credential reference could not be resolved. Names the reference, never the value. */
export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(
    readonly kind: CredentialErrorKind,
    /** The reference as it may be shown (a literal value is never shown). */
    readonly ref: string,
    message: string,
    /** What the user can do about it. */
    readonly remedy?: string,
    /** The upstream error name, e.g. AccessDeniedException. */
    readonly code?: string,
  ) {
    super(`${ref}: ${message}`);
  }
}
