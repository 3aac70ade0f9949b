import { afterEach, describe, expect, it } from 'vitest';
import { storeTargets, type TestStore } from '../support/databases.js';

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`LinearSessionStore on ${target.name}`, () => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    it('opens a session once, also when two deliveries race, then records its task and status', async () => {
      const s = (store = await target.open());
      const open = () => s.linearSessions.open({ id: 'sess-1', workspaceId: 'org-1', issueId: 'iss-1', issueIdentifier: 'ENG-1', creatorId: 'u-1', context: '{"a":1}' });
      const raced = await Promise.all([open(), open(), open()]);
      expect(raced.filter((r) => r.created)).toHaveLength(1);
      expect(raced.every((r) => r.session.id === 'sess-1' && r.session.task_id === null && r.session.status === 'active')).toBe(true);
      await s.linearSessions.update('sess-1', { status: 'awaiting_repo' });
      expect((await s.linearSessions.get('sess-1'))?.status).toBe('awaiting_repo');
      await s.linearSessions.update('sess-1', { status: 'active', taskId: 'task-1' });
      expect(await s.linearSessions.get('sess-1')).toMatchObject({ status: 'active', task_id: 'task-1', workspace_id: 'org-1', issue_identifier: 'ENG-1', context: '{"a":1}' });
      expect(await s.linearSessions.get('nope')).toBeUndefined();
    });

    it("keeps one default repository per team: set, replace, list, remove", async () => {
      const s = (store = await target.open());
      expect((await s.linearSessions.setTeamRepo('team-1', 'demo')).created).toBe(true);
      const replaced = await s.linearSessions.setTeamRepo('team-1', 'acme/demo');
      expect(replaced).toMatchObject({ created: false, teamRepo: { team_id: 'team-1', repo: 'acme/demo' } });
      await s.linearSessions.setTeamRepo('team-0', 'demo');
      expect((await s.linearSessions.listTeamRepos()).map((t) => `${t.team_id}:${t.repo}`)).toEqual(['team-0:demo', 'team-1:acme/demo']);
      expect(await s.linearSessions.removeTeamRepo('team-1')).toBe(true);
      expect(await s.linearSessions.removeTeamRepo('team-1')).toBe(false);
      expect(await s.linearSessions.getTeamRepo('team-1')).toBeUndefined();
    });
  });
}
