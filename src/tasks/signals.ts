import { EventEmitter } from 'node:events';

/**
 * Process-local notifications. They only make things faster (an SSE stream wakes at once, a local agent
 * is stopped at once); every consumer also polls the database, which is the truth across processes.
 */
export class TaskSignals {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** A task's row or events changed. */
  changed(taskId: string): void {
    this.emitter.emit(`changed:${taskId}`);
  }

  onChanged(taskId: string, fn: () => void): () => void {
    this.emitter.on(`changed:${taskId}`, fn);
    return () => this.emitter.off(`changed:${taskId}`, fn);
  }

  /** A user's waiting tasks may be admitted (a task arrived or a slot was freed). */
  wake(userId: string): void {
    this.emitter.emit('wake', userId);
  }

  onWake(fn: (userId: string) => void): () => void {
    this.emitter.on('wake', fn);
    return () => this.emitter.off('wake', fn);
  }

  /** A follow-up or an answer for the task was stored. */
  inputArrived(taskId: string): void {
    this.emitter.emit(`input:${taskId}`);
  }

  onInputArrived(taskId: string, fn: () => void): () => void {
    this.emitter.on(`input:${taskId}`, fn);
    return () => this.emitter.off(`input:${taskId}`, fn);
  }

  cancelled(taskId: string): void {
    this.emitter.emit(`cancelled:${taskId}`);
  }

  onCancelled(taskId: string, fn: () => void): () => void {
    this.emitter.on(`cancelled:${taskId}`, fn);
    return () => this.emitter.off(`cancelled:${taskId}`, fn);
  }
}
