import { ulid } from 'ulid';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { LinearDelivery } from '../store/linear.js';
import { toError } from '../tasks/errors.js';
import { processDelivery, reportLostDelivery, type ProcessorDeps } from './processor.js';
import { isPassingFailure } from './unavailable.js';

const LEASE_MS = 60_000;
const DEDUPE_WINDOW_MS = 8 * 60 * 60 * 1000;
const MAX_IN_FLIGHT = 10;
/** Tries of a delivery that keeps failing for a passing reason: after 10 s, 30 s, 90 s, 270 s (about 7 minutes in all). */
export const MAX_ATTEMPTS = 5;
const FIRST_RETRY_MS = 10_000;
const CLAIM_FAILURES_PER_LOG = 60;

export interface DeliveryWorkerOptions {
  pollMs?: number;
  leaseMs?: number;
}

/**
 * Processes stored webhook deliveries: woken when one is written or one is finished, and polling so that
 * deliveries accepted before a crash (or by another process) are processed too. A delivery is claimed with a
 * lease, renewed while it is processed, so two processes never handle the same one at once; the claim also
 * keeps each agent session's (or issue's) deliveries one at a time and in order, across processes.
 * Deliveries of different sessions run side by side: one slow Linear answer does not hold up another
 * session's first sign of life.
 */
export class LinearDeliveryWorker {
  private readonly owner = `linear-${ulid()}`;
  private readonly inFlight = new Set<Promise<void>>();
  private claiming: Promise<void> | undefined;
  private again = false;
  private failedClaims = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly deps: ProcessorDeps & { store: Store; logger: Logger },
    opts: DeliveryWorkerOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? LEASE_MS;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = this.claim()
      .then(() => {
        if (this.failedClaims > 0) this.deps.logger.info({ failedClaims: this.failedClaims }, 'claiming Linear deliveries works again');
        this.failedClaims = 0;
      })
      .catch((err: unknown) => {
        // Once when the database goes away, then once a minute or so (a claim is tried every poll).
        if (this.failedClaims++ % CLAIM_FAILURES_PER_LOG === 0) this.deps.logger.error({ err, failedClaims: this.failedClaims }, 'could not claim Linear deliveries');
      })
      .finally(() => {
        this.claiming = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves when nothing is being claimed or processed (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.claiming || this.inFlight.size) await Promise.all([this.claiming, ...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  private async claim(): Promise<void> {
    const free = MAX_IN_FLIGHT - this.inFlight.size;
    if (free <= 0) return;
    const claimed = await this.deps.store.linear.claimDeliveries(this.owner, this.leaseMs, free);
    if (claimed.length === 0) await this.deps.store.linear.purgeDeliveries(DEDUPE_WINDOW_MS);
    for (const delivery of claimed) {
      // Each finished delivery looks for more: the next event of its session may be waiting for it.
      const running: Promise<void> = this.process(delivery)
        .catch((err: unknown) => this.deps.logger.error({ err, deliveryId: delivery.id }, 'a Linear delivery could not be recorded; it is taken up again when its lease runs out'))
        .finally(() => {
          this.inFlight.delete(running);
          this.wake();
        });
      this.inFlight.add(running);
    }
  }

  private async process(delivery: LinearDelivery): Promise<void> {
    if (delivery.attempts > MAX_ATTEMPTS) {
      // Taken over again and again: whatever handles it keeps killing its process. Stop before it runs once more.
      this.deps.logger.error({ deliveryId: delivery.id, attempt: delivery.attempts }, 'a Linear delivery was taken over after its processor stopped too many times; giving it up');
      await reportLostDelivery(this.deps, delivery, false);
      this.warnIfLost(delivery, await this.deps.store.linear.finishDelivery(delivery.id, this.owner, 'failed', `given up after ${delivery.attempts - 1} attempts whose process stopped`));
      return;
    }
    let renewing = Promise.resolve();
    const renewal = setInterval(() => (renewing = renewing.then(() => this.renew(delivery))), this.leaseMs / 3);
    renewal.unref();
    let outcome: unknown;
    let failure: unknown;
    try {
      outcome = await processDelivery(this.deps, delivery);
    } catch (err) {
      failure = err;
    } finally {
      clearInterval(renewal);
      await renewing;
    }
    const linear = this.deps.store.linear;
    if (failure === undefined) {
      this.warnIfLost(delivery, await linear.finishDelivery(delivery.id, this.owner, 'done', JSON.stringify(outcome)));
      return;
    }
    const passing = isPassingFailure(failure);
    const message = toError(failure).message;
    if (passing && delivery.attempts < MAX_ATTEMPTS) {
      const delayMs = FIRST_RETRY_MS * 3 ** (delivery.attempts - 1);
      this.deps.logger.warn({ err: failure, deliveryId: delivery.id, attempt: delivery.attempts, retryInMs: delayMs }, 'a Linear delivery failed for a passing reason; it is tried again later');
      this.warnIfLost(delivery, await linear.retryDelivery(delivery.id, this.owner, message, delayMs));
      return;
    }
    this.deps.logger.error({ err: failure, deliveryId: delivery.id, attempt: delivery.attempts }, 'a Linear delivery could not be processed');
    await reportLostDelivery(this.deps, delivery, passing);
    this.warnIfLost(delivery, await linear.finishDelivery(delivery.id, this.owner, 'failed', message));
  }

  private async renew(delivery: LinearDelivery): Promise<void> {
    try {
      this.warnIfLost(delivery, await this.deps.store.linear.renewDeliveryLease(delivery.id, this.owner, this.leaseMs));
    } catch (err) {
      this.deps.logger.warn({ err, deliveryId: delivery.id }, "could not renew a Linear delivery's lease");
    }
  }

  /** A write guarded by the lease found it gone: another process has taken the delivery over. */
  private warnIfLost(delivery: LinearDelivery, stillHeld: boolean): void {
    if (!stillHeld) this.deps.logger.warn({ deliveryId: delivery.id }, 'lost the lease on a Linear delivery: another process took it over and handles it again');
  }
}
