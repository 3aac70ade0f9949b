import { afterEach, describe, expect, it } from 'vitest';
import { operations, startLifecycleRig, type LifecycleRig } from './lifecycle.support.js';

describe('a labelled issue shows the task life on Linear', () => {
  let rig: LifecycleRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('👀 first, starting note and In Progress, the PR, then ✅ for 👀, In Review and one summary, in 6 calls', async () => {
    rig = await startLifecycleRig();
    const { issue, taskId } = await rig.label({ projectId: rig.githubProject.id });
    const task = await rig.ended(taskId);
    expect(task.status).toBe('COMPLETED');
    expect(task.pr_url).toBeTruthy();
    await rig.answered('TaskFinished');

    expect(operations(rig.emu.calls)).toEqual(['ReactionCreate', 'IssueLifecycle', 'TaskStarted', 'CommentCreate', 'IssueLifecycle', 'TaskFinished']);
    expect(rig.emu.calls.length).toBeLessThanOrEqual(8);
    expect(rig.emu.calls[0]!.variables).toMatchObject({ issueId: issue.id, emoji: 'eyes' });
    expect(rig.emu.calls.every((c) => c.status === 200)).toBe(true);

    const [starting, pr, summary] = rig.comments(issue.id);
    expect(starting).toContain(`task \`${taskId}\``);
    expect(pr).toContain(task.pr_url);
    expect(summary).toContain('✅');
    expect(summary).toContain(`- Pull request: ${task.pr_url}`);
    expect(summary).toMatch(/- Cost: (n\/a|\$\d+\.\d\d)/);
    expect(summary).toMatch(/- Turns: \S+\/\S+/);
    expect(summary).toMatch(/- Duration: \d+s/);
    expect(summary).toContain(`- Task: \`${taskId}\``);
    expect(rig.comments(issue.id)).toHaveLength(3);
    expect(rig.reactions(issue.id)).toEqual(['white_check_mark']);
    expect(rig.stateOf(issue)).toBe('In Review');

    expect((await rig.task(taskId)).linear_calls).toBe(6);
  });

  it('never moves an issue backwards: one already In Review stays there, one Done stays Done', async () => {
    rig = await startLifecycleRig();
    const inReview = await rig.label({ projectId: rig.githubProject.id, stateName: 'In Review' });
    expect((await rig.ended(inReview.taskId)).status).toBe('COMPLETED');
    await rig.answered('TaskFinished');
    const done = await rig.label({ stateName: 'Done' });
    expect((await rig.ended(done.taskId)).status).toBe('COMPLETED');
    await rig.answered('TaskFinished', 2);

    expect(rig.stateOf(inReview.issue)).toBe('In Review');
    expect(rig.stateOf(done.issue)).toBe('Done');
    for (const c of rig.emu.calls.filter((c) => c.operationName === 'TaskStarted' || c.operationName === 'TaskFinished')) {
      expect(c.variables.move).toBe(false);
    }
    expect(rig.reactions(done.issue.id)).toEqual(['white_check_mark']);
  });

  it('the sweep removes only bgagent’s own earlier 👀/✅/❌, never a person’s, never the new 👀', async () => {
    rig = await startLifecycleRig({ agentCommand: 'sleep 1' });
    const { viewer, human } = rig.emu.seeded!;
    const issue = rig.emu.state.addIssue({ title: 'Again', projectId: rig.project.id, labelIds: [rig.emu.seeded!.label.id] });
    const oldCheck = rig.emu.state.addReaction({ issueId: issue.id, emoji: 'white_check_mark', userId: viewer.id });
    const oldCross = rig.emu.state.addReaction({ issueId: issue.id, emoji: 'x', userId: viewer.id });
    const humanEyes = rig.emu.state.addReaction({ issueId: issue.id, emoji: 'eyes', userId: human.id });
    const ownThumb = rig.emu.state.addReaction({ issueId: issue.id, emoji: 'thumbsup', userId: viewer.id });
    const res = await rig.send(rig.labelEvent({ issue }).payload);
    const taskId = JSON.parse((await rig.processed(res.deliveryId)).result!).taskId;

    const sweep = await rig.answered('ReactionsSweep');
    expect(Object.values(sweep.variables).sort()).toEqual([oldCheck.id, oldCross.id].sort());
    const during = rig.emu.state.reactionsOn({ issueId: issue.id });
    expect(during.map((r) => r.id)).toEqual(expect.arrayContaining([humanEyes.id, ownThumb.id]));
    expect(during.filter((r) => r.userId === viewer.id && r.emoji === 'eyes')).toHaveLength(1);

    expect((await rig.ended(taskId)).status).toBe('COMPLETED');
    await rig.answered('TaskFinished');
    const after = rig.emu.state.reactionsOn({ issueId: issue.id });
    expect(after.map((r) => `${r.userId === viewer.id ? 'bgagent' : 'ada'}:${r.emoji}`).sort()).toEqual(['ada:eyes', 'bgagent:thumbsup', 'bgagent:white_check_mark']);
    expect(after.find((r) => r.id === oldCheck.id)).toBeUndefined();
    expect((await rig.task(taskId)).linear_calls).toBe(operations(rig.emu.calls).length);
    expect(rig.emu.calls.length).toBeLessThanOrEqual(8);
  });
});
