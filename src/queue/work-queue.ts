/**
 * Dispatches "a user's waiting tasks may be admitted" to the workers that admit and run tasks. The
 * database stays the truth (admission re-reads the task table under the user's row lock); a wake-up only
 * makes a worker look now instead of at its next periodic sweep, so a lost or duplicated wake-up is harmless.
 */
export interface WorkQueue {
  /** Which implementation this is (logged at start; not for branching). */
  readonly kind: 'embedded' | 'graphile-worker';
  /** Ask some worker (this process or another) to admit the user's waiting tasks. */
  notify(userId: string): Promise<void>;
  /** Start receiving wake-ups (worker processes only). */
  start(onWake: (userId: string) => void): Promise<void>;
  /** Stop receiving wake-ups (a worker shutting down); `notify` keeps working. */
  stop(): Promise<void>;
  /** Release everything (after `stop`). */
  close(): Promise<void>;
}
