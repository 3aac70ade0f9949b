import type { TaskSignals } from '../tasks/signals.js';
import type { WorkQueue } from './work-queue.js';

/** One process (SQLite): wake-ups are in-process signals. */
export class EmbeddedWorkQueue implements WorkQueue {
  readonly kind = 'embedded';
  private off: (() => void) | undefined;

  constructor(private readonly signals: TaskSignals) {}

  async notify(userId: string): Promise<void> {
    this.signals.wake(userId);
  }

  async start(onWake: (userId: string) => void): Promise<void> {
    this.off?.();
    this.off = this.signals.onWake(onWake);
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
  }
}
