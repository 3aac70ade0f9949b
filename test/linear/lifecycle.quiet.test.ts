import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs } from './capture-logs.js';
import { startLifecycleRig, type LifecycleRig } from './lifecycle.support.js';

describe('nothing bgagent does on Linear can stall or fail a task', () => {
  let rig: LifecycleRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('refused tokens open the circuit without failing the task; then a new task makes no call at all, completes, and the skip is logged once', async () => {
    const logs = captureLogs();
    rig = await startLifecycleRig({ logger: logs.logger });
    rig.emu.failNext({ kind: 'auth' }, { times: 'always' });
    const first = await rig.label();
    expect((await rig.ended(first.taskId)).status).toBe('COMPLETED');
    await waitForCircuitOpen(logs);
    rig.emu.clearFailures();
    rig.emu.calls.length = 0;

    const tasks = [await rig.label(), await rig.label()];
    for (const { taskId, issue } of tasks) {
      const task = await rig.ended(taskId);
      expect(task.status).toBe('COMPLETED');
      expect(task.linear_calls).toBe(0);
      expect(rig.comments(issue.id)).toEqual([]);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(rig.emu.calls).toEqual([]);
    const skipped = logs.entries().filter((e) => /Linear is unreachable/.test(e.msg));
    expect(skipped).toHaveLength(1);
  });

  it('a slow Linear (3 s per call) does not slow the agent step: the task ends before Linear answers once', async () => {
    rig = await startLifecycleRig();
    rig.emu.setLatency(3000);
    const { issue, taskId } = await rig.label();
    const task = await rig.ended(taskId);
    expect(task.status).toBe('COMPLETED');
    expect(rig.emu.calls.filter((c) => c.status !== 0)).toEqual([]);
    const events = (await rig.server.api('GET', `/v1/tasks/${taskId}/events`)).body.events as Array<{ type: string; created_at: number }>;
    expect(events.map((e) => e.type)).toContain('session_started');

    rig.emu.setLatency(0);
    await rig.answered('TaskFinished');
    expect(rig.reactions(issue.id)).toEqual(['white_check_mark']);
    expect(rig.comments(issue.id)).toHaveLength(2);
  });
});

async function waitForCircuitOpen(logs: ReturnType<typeof captureLogs>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!logs.entries().some((e) => /suspending Linear calls/.test(e.msg))) {
    if (Date.now() > deadline) throw new Error('the Linear circuit never opened');
    await new Promise((r) => setTimeout(r, 50));
  }
}
