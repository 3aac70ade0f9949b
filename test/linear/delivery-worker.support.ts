import { silentLogger, type Logger } from '../../src/log.js';
import { LinearDeliveryWorker, type DeliveryWorkerOptions } from '../../src/linear/delivery-worker.js';
import type { SessionOutcome } from '../../src/linear/sessions/session-events.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { TestStore } from '../support/databases.js';
import { waitFor } from '../support/server.js';

/** A second store on the same database, as another process would have (closed with `close()`). */
export function sameDatabase(store: TestStore, now?: () => number): Promise<Store> {
  return openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, now, poolSize: 5 });
}

/** Stores an `AgentSessionEvent` delivery as the webhook route does. */
export async function insertSessionEvent(store: Store, id: string, sessionId: string, action: string, sentAt: number): Promise<void> {
  const payload = { type: 'AgentSessionEvent', action, webhookTimestamp: sentAt, organizationId: 'org-1', agentSession: { id: sessionId } };
  await store.linear.insertDelivery({ id, dedupeKey: `AgentSessionEvent:${id}`, workspaceId: 'org-1', type: 'AgentSessionEvent', action, payload: JSON.stringify(payload), orderingKey: sessionId, webhookTimestamp: sentAt });
}

/** A gate a handler waits at until the test opens it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

export interface Recorder {
  /** `start <delivery id>` / `end <delivery id>`, in the order they happened (all workers). */
  log: string[];
  /** Handlers that run inside a delivery, by delivery id (e.g. wait at a gate, or throw). */
  during: Map<string, (attempt: number) => Promise<void>>;
  /** Deliveries reported lost to their session: `<delivery id> unavailable|unexpected`. */
  lost: string[];
  /** Resolves once the log has `line`. */
  reached(line: string): Promise<void>;
}

export function recorder(): Recorder {
  const log: string[] = [];
  return { log, during: new Map(), lost: [], reached: async (line) => void (await waitFor(() => (log.includes(line) ? true : undefined), 10_000, line)) };
}

/** A delivery worker whose agent-session handler records what it does (no Linear involved). */
export function recordingWorker(store: Store, r: Recorder, opts: DeliveryWorkerOptions & { logger?: Logger } = {}): LinearDeliveryWorker {
  const attempts = new Map<string, number>();
  return new LinearDeliveryWorker(
    {
      store,
      logger: opts.logger ?? silentLogger,
      feedback: { reject: async () => {}, comment: async () => {} },
      onTaskCreated: () => {},
      agentSessions: async (_payload, deliveryId): Promise<SessionOutcome> => {
        const attempt = (attempts.get(deliveryId) ?? 0) + 1;
        attempts.set(deliveryId, attempt);
        r.log.push(`start ${deliveryId}`);
        await r.during.get(deliveryId)?.(attempt);
        r.log.push(`end ${deliveryId}`);
        return { outcome: 'ignored', reason: 'test' };
      },
      agentSessionLost: async (_payload, deliveryId, unavailable) => {
        r.lost.push(`${deliveryId} ${unavailable ? 'unavailable' : 'unexpected'}`);
      },
    },
    { pollMs: 60_000, ...opts },
  );
}
