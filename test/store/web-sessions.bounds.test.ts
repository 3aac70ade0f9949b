import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_TOKEN } from '../../src/store/web-sessions.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/**
 * Any holder of a token can sign in again and again (POST /signin only needs the token): each sign-in is a
 * row. A token keeps its newest MAX_SESSIONS_PER_TOKEN sessions; signing in once more ends the oldest.
 */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`web sessions per token on ${target.name}`, () => {
    let store: TestStore;
    let now = 1_000_000;
    beforeAll(async () => {
      store = await target.open({ now: () => now });
    });
    afterAll(async () => {
      await store.destroy();
    });

    it('are bounded: the oldest ends, the newest and other tokens’ sessions stay', async () => {
      const user = await store.users.ensure('mallory');
      const { info: flooding } = await store.users.createToken(user.id, 'flood');
      const { info: other } = await store.users.createToken(user.id, 'laptop');
      const kept = await store.webSessions.create(other.id, user.id);
      const ids: string[] = [];
      for (let i = 0; i < MAX_SESSIONS_PER_TOKEN + 5; i++) {
        now += 1000;
        ids.push(await store.webSessions.create(flooding.id, user.id));
      }
      const count = await store.db.kysely.selectFrom('web_sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('token_id', '=', flooding.id).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(MAX_SESSIONS_PER_TOKEN);
      expect(await store.webSessions.activeIds(ids)).toEqual(expect.arrayContaining(ids.slice(5)));
      expect((await store.webSessions.activeIds(ids)).length).toBe(MAX_SESSIONS_PER_TOKEN);
      expect(await store.webSessions.authenticate(ids[0]!)).toBeUndefined();
      expect(await store.webSessions.authenticate(kept)).toBeDefined();
      // Many sign-ins in the same millisecond: the new one is never the one that goes.
      for (let i = 0; i < 3; i++) expect(await store.webSessions.authenticate(await store.webSessions.create(flooding.id, user.id))).toBeDefined();
    });
  });
}
