import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { taskChangeMarks } from '../store/task-marks.js';
import type { TaskSignals } from '../tasks/signals.js';

// Task ids per query: far below SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

interface Watched {
  wakers: Set<() => void>;
  /** `status:lastEventId` at the last tick; undefined until the first, so a change between a stream's own first read and that tick is not missed. */
  mark: string | undefined;
  offSignal: () => void;
}

/**
 * One poller per process for every open event stream. Each tick reads the status and newest event id of
 * every watched task in one query (per 500 tasks) and wakes only the streams whose task changed, so the
 * database load does not grow with the number of streams on a task. A local signal (a change made by this
 * process) wakes a task's streams at once; the poll brings changes written by other processes.
 */
export class TaskEventFeed {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: { store: Store; signals: TaskSignals; logger: Logger; pollMs: number }) {}

  /** Calls `wake` whenever the task may have changed; returns the function that stops watching. */
  watch(taskId: string, wake: () => void): () => void {
    let w = this.watched.get(taskId);
    if (!w) {
      const entry: Watched = { wakers: new Set(), mark: undefined, offSignal: () => {} };
      entry.offSignal = this.deps.signals.onChanged(taskId, () => this.wakeAll(entry));
      this.watched.set(taskId, entry);
      w = entry;
    }
    w.wakers.add(wake);
    this.schedule();
    const entry = w;
    return () => {
      entry.wakers.delete(wake);
      if (entry.wakers.size === 0 && this.watched.get(taskId) === entry) {
        entry.offSignal();
        this.watched.delete(taskId);
      }
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wakeAll(w: Watched): void {
    for (const wake of [...w.wakers]) wake();
  }

  private schedule(): void {
    if (this.timer || this.closed || this.watched.size === 0) return;
    this.timer = setTimeout(() => void this.tick(), this.deps.pollMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const ids = [...this.watched.keys()];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const marks = await taskChangeMarks(this.deps.store.db, ids.slice(i, i + CHUNK));
        for (const id of ids.slice(i, i + CHUNK)) {
          const w = this.watched.get(id);
          if (!w) continue;
          const m = marks.get(id);
          // A task that is gone wakes its streams every tick until they end (they see it gone and stop).
          const mark = m ? `${m.status}:${m.lastEventId}` : 'gone';
          if (mark === w.mark && mark !== 'gone') continue;
          w.mark = mark;
          this.wakeAll(w);
        }
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'the event feed could not poll the database; retrying');
    } finally {
      this.timer = undefined;
      this.schedule();
    }
  }
}
