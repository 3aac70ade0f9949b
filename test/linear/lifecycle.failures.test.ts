import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_REMEDIES } from '../../src/orchestrator/failure.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { TERMINAL, startLifecycleRig, type LifecycleRig } from './lifecycle.support.js';

describe('a task that does not complete says so on its issue', () => {
  let rig: LifecycleRig | undefined;
  let restarted: TestServer | undefined;
  afterEach(async () => {
    if (restarted) {
      await restarted.destroy();
      await rig!.emu.close();
      await rig!.github.close();
      rmSync(restarted.dataDir, { recursive: true, force: true });
    } else {
      await rig?.destroy();
    }
    rig = undefined;
    restarted = undefined;
  });

  const summaryOf = (issueId: string) => rig!.comments(issueId).at(-1)!;

  it('a failed agent: ❌ in place of 👀, the classified reason and what to do, no move to In Review', async () => {
    rig = await startLifecycleRig({ agentCommand: 'echo broken >&2; exit 3' });
    const { issue, taskId } = await rig.label();
    const task = await rig.ended(taskId);
    expect(task.status).toBe('FAILED');
    await rig.answered('TaskFinished');
    const summary = summaryOf(issue.id);
    expect(summary).toContain(`❌ **bgagent could not finish this task** (${task.error_code})`);
    expect(summary).toContain(`**Reason:** ${task.error_message}`);
    expect(summary).toContain(FAILURE_REMEDIES[task.error_code]);
    expect(summary).toContain(`- Task: \`${taskId}\``);
    expect(rig.reactions(issue.id)).toEqual(['x']);
    expect(rig.stateOf(issue)).toBe('In Progress');
  });

  it('a task past its time limit: ❌ and the reason', async () => {
    rig = await startLifecycleRig({ agentCommand: 'sleep 30', env: { BGAGENT_TASK_TIMEOUT_SECONDS: '1' } });
    const { issue, taskId } = await rig.label();
    expect((await rig.ended(taskId)).status).toBe('TIMED_OUT');
    await rig.answered('TaskFinished');
    expect(summaryOf(issue.id)).toContain('the task ran past its time limit');
    expect(summaryOf(issue.id)).toContain('**What to do:**');
    expect(rig.reactions(issue.id)).toEqual(['x']);
  });

  it('cancelled while running: ❌ and who cancelled it', async () => {
    rig = await startLifecycleRig({ agentCommand: 'sleep 30' });
    const { issue, taskId } = await rig.label();
    await rig.answered('TaskStarted');
    const cancel = await rig.server.api('DELETE', `/v1/tasks/${taskId}`);
    expect(cancel.status).toBe(200);
    const task = await rig.ended(taskId);
    expect(task.status).toBe('CANCELLED');
    await rig.answered('TaskFinished');
    expect(task.cancelled_by).toBeTruthy();
    expect(summaryOf(issue.id)).toContain(`cancelled** by ${task.cancelled_by}.`);
    expect(rig.reactions(issue.id)).toEqual(['x']);
  });

  for (const kind of ['WORKER_LOST', 'TIMED_OUT'] as const) {
    it(`a task ended by crash recovery (${kind}) posts ❌ and its reason`, async () => {
      rig = await startLifecycleRig({ agentCommand: 'sleep 30' });
      const { issue, taskId } = await rig.label();
      await rig.answered('TaskStarted');
      const dataDir = rig.server.dataDir;
      // The worker goes away mid-agent; the next one finds the task RUNNING without a live lease.
      await rig.server.close(0);
      if (kind === 'TIMED_OUT') await new Promise((r) => setTimeout(r, 1100));
      restarted = await startTestServer({
        dialect: 'sqlite',
        dataDir,
        env: { LINEAR_API_URL: rig.emu.url, ...(kind === 'TIMED_OUT' ? { BGAGENT_TASK_TIMEOUT_SECONDS: '1' } : {}) },
      });
      const task = await waitFor(async () => {
        const t = (await restarted!.api('GET', `/v1/tasks/${taskId}`)).body.task;
        return TERMINAL.includes(t.status) ? t : undefined;
      });
      expect(task.status).toBe(kind === 'WORKER_LOST' ? 'FAILED' : 'TIMED_OUT');
      if (kind === 'WORKER_LOST') expect(task.error_code).toBe('WORKER_LOST');
      await rig.answered('TaskFinished');
      const summary = summaryOf(issue.id);
      expect(summary).toContain(task.error_message);
      if (kind === 'WORKER_LOST') expect(summary).toContain(FAILURE_REMEDIES.WORKER_LOST);
      // The 👀 of the crashed run is found by its author (bgagent's viewer) and replaced.
      expect(rig.reactions(issue.id)).toEqual(['x']);
    });
  }
});
