import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Credential } from './auth.js';

// Ids per query: far below SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

/**
 * Re-checks the credentials of every long request (event stream) in this process together: every
 * `intervalMs`, one query for the API tokens in use and one for the web sessions, however many streams
 * hold them; a stream whose token was revoked or whose session ended is told to stop. The check is not
 * activity: an open page alone does not keep a session past its idle limit.
 */
export class CredentialWatch {
  private readonly watchers = new Map<symbol, { credential: Credential; ended: () => void }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: { store: Store; logger: Logger; intervalMs: number }) {}

  /** Calls `ended` once the credential no longer holds; returns the function that stops watching. */
  watch(credential: Credential, ended: () => void): () => void {
    const key = Symbol('watcher');
    this.watchers.set(key, { credential, ended });
    this.schedule();
    return () => this.watchers.delete(key);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.closed || this.watchers.size === 0) return;
    this.timer = setTimeout(() => void this.check(), this.deps.intervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    try {
      const entries = [...this.watchers];
      const tokenIds = unique(entries.flatMap(([, w]) => (w.credential.kind === 'token' ? [w.credential.tokenId] : [])));
      const sessionIds = unique(entries.flatMap(([, w]) => (w.credential.kind === 'session' ? [w.credential.sessionId] : [])));
      const activeTokens = new Set<string>();
      const activeSessions = new Set<string>();
      for (let i = 0; i < tokenIds.length; i += CHUNK) for (const id of await this.deps.store.users.activeTokenIds(tokenIds.slice(i, i + CHUNK))) activeTokens.add(id);
      for (let i = 0; i < sessionIds.length; i += CHUNK) for (const id of await this.deps.store.webSessions.activeIds(sessionIds.slice(i, i + CHUNK))) activeSessions.add(id);
      for (const [key, w] of entries) {
        const c = w.credential;
        const holds = c.kind === 'token' ? activeTokens.has(c.tokenId) : activeSessions.has(c.sessionId);
        if (holds || !this.watchers.has(key)) continue;
        this.watchers.delete(key);
        w.ended();
      }
    } catch (err) {
      // A failed check ends nothing: the next one decides.
      this.deps.logger.warn({ err }, 'could not re-check the credentials of open event streams; retrying');
    } finally {
      this.timer = undefined;
      this.schedule();
    }
  }
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
