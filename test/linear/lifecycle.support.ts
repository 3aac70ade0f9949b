import { expect } from 'vitest';
import type { Logger } from '../../src/log.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';
import type { EmIssue, EmProject, EmulatedCall } from '../support/linear/emulator.js';
import { waitFor } from '../support/server.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

const PUSH_TOKEN = 'gh-lifecycle-push-token';
export const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

export interface LifecycleRig extends InboundRig {
  github: GitHubEmulator;
  /** A Linear project mapped to `acme/demo` on the GitHub emulator (its agent writes a file, so a PR opens). */
  githubProject: EmProject;
  /** Labels a new issue (in `projectId`, default the rig's `demo` project); returns the issue and the task id. */
  label(opts?: { projectId?: string; stateName?: string }): Promise<{ issue: EmIssue; taskId: string }>;
  task(taskId: string): Promise<any>;
  ended(taskId: string): Promise<any>;
  /** Waits until the emulator has answered a call named `operationName` (the `n`th, default 1st). */
  answered(operationName: string, n?: number): Promise<EmulatedCall>;
  stateOf(issue: EmIssue): string;
}

/**
 * The inbound rig (real server + Linear emulator) plus the GitHub emulator: repo `demo` (a local remote,
 * agent `agentCommand`, no PR) and repo `acme/demo` on GitHub whose agent changes a file, so a PR opens.
 */
export async function startLifecycleRig(opts: { agentCommand?: string; env?: Record<string, string>; logger?: Logger } = {}): Promise<LifecycleRig> {
  process.env.BGAGENT_LIFECYCLE_GITHUB_TOKEN = PUSH_TOKEN;
  const github = await startGitHubEmulator({ tokens: { [PUSH_TOKEN]: { login: 'bgagent-bot', repos: { 'acme/demo': 'push' } } } });
  await github.createRepo('acme', 'demo', { files: { 'README.md': '# demo\n' } });
  const rig = await startInboundRig({
    agentCommand: opts.agentCommand,
    logger: opts.logger,
    env: { GITHUB_API_URL: github.url, GITHUB_TOKEN: 'env:BGAGENT_LIFECYCLE_GITHUB_TOKEN', ...opts.env },
  });
  const repo = await rig.server.api('POST', '/v1/repos', {
    body: { name: 'acme/demo', clone_url: github.gitUrl('acme', 'demo'), agent: 'command', agent_settings: { command: 'echo fixed > FIX.md' } },
  });
  expect(repo.status, JSON.stringify(repo.body)).toBe(201);
  const githubProject = rig.emu.state.addProject({ name: 'GitHub site' });
  const onboard = await rig.server.api('POST', '/v1/linear/projects', { body: { project_id: githubProject.id, repo: 'acme/demo' } });
  expect(onboard.status, JSON.stringify(onboard.body)).toBe(201);
  rig.emu.calls.length = 0;
  const destroyInbound = rig.destroy;

  return Object.assign(rig, {
    github,
    githubProject,
    async label(o: { projectId?: string; stateName?: string } = {}) {
      const seeded = rig.emu.seeded!;
      const stateId = o.stateName ? seeded.states[o.stateName]!.id : undefined;
      const issue = rig.emu.state.addIssue({ title: 'Fix the login page', description: 'The button is misaligned.', projectId: o.projectId ?? rig.project.id, labelIds: [seeded.label.id], stateId });
      const { payload } = rig.labelEvent({ issue, projectId: issue.projectId });
      const res = await rig.send(payload);
      expect(res.status).toBe(200);
      const outcome = JSON.parse((await rig.processed(res.deliveryId)).result!);
      expect(outcome.outcome).toBe('created');
      return { issue, taskId: outcome.taskId as string };
    },
    async task(taskId: string) {
      return (await rig.server.api('GET', `/v1/tasks/${taskId}`)).body.task;
    },
    async ended(taskId: string) {
      return waitFor(async () => {
        const t = (await rig.server.api('GET', `/v1/tasks/${taskId}`)).body.task;
        return TERMINAL.includes(t.status) ? t : undefined;
      }, 20_000, `task ${taskId} to end`);
    },
    answered(operationName: string, n = 1) {
      return waitFor(() => rig.emu.calls.filter((c) => c.operationName === operationName && c.status !== 0)[n - 1], 15_000, `${operationName} #${n} answered`);
    },
    stateOf(issue: EmIssue) {
      const stateId = rig.emu.state.issues.get(issue.id)!.stateId;
      return rig.emu.state.workflowStates.get(stateId)!.name;
    },
    async destroy() {
      await destroyInbound();
      await github.close();
    },
  }) as LifecycleRig;
}

/** The operation names the emulator received, in order. */
export const operations = (calls: EmulatedCall[]) => calls.map((c) => c.operationName);
