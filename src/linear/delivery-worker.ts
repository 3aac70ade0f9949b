import { ulid } from 'ulid';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { LinearDelivery } from '../store/linear.js';
import { toError } from '../tasks/errors.js';
import { processDelivery, type ProcessorDeps } from './processor.js';

const LEASE_MS = 60_000;
const DEDUPE_WINDOW_MS = 8 * 60 * 60 * 1000;

/**
 * Processes stored webhook deliveries: woken when one is written, and polling so that deliveries
 * accepted before a crash (or by another process) are processed too. A delivery is claimed with a
 * lease, so two processes never handle the same one at once.
 */
export class LinearDeliveryWorker {
  private readonly owner = `linear-${ulid()}`;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ProcessorDeps & { store: Store; logger: Logger },
    private readonly pollMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'Linear delivery processing failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves when nothing is being processed (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch = await this.deps.store.linear.claimDeliveries(this.owner, LEASE_MS, 10);
      if (batch.length === 0) break;
      // Different issues and sessions are independent: one slow Linear answer must not hold up another
      // session's first sign of life. Each one's own events stay in the order they arrived.
      await Promise.all(
        [...groupBy(batch, orderingKey).values()].map(async (inOrder) => {
          for (const delivery of inOrder) await this.process(delivery);
        }),
      );
    }
    await this.deps.store.linear.purgeDeliveries(DEDUPE_WINDOW_MS);
  }

  private async process(delivery: LinearDelivery): Promise<void> {
    try {
      const outcome = await processDelivery(this.deps, delivery);
      await this.deps.store.linear.finishDelivery(delivery.id, this.owner, 'done', JSON.stringify(outcome));
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: delivery.id }, 'a Linear delivery could not be processed');
      await this.deps.store.linear.finishDelivery(delivery.id, this.owner, 'failed', toError(err).message);
    }
  }
}

/** What a delivery must stay in order with: its agent session, else its issue (or entity), else nothing. */
export function orderingKey(delivery: LinearDelivery): string {
  try {
    const body = JSON.parse(delivery.payload) as { agentSession?: { id?: unknown; issueId?: unknown }; data?: { id?: unknown } };
    const key = body.agentSession?.id ?? body.data?.id;
    if (typeof key === 'string') return key;
  } catch {
    // unparseable: processDelivery records why
  }
  return delivery.id;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}
