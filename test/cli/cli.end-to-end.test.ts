import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { branchesOf, createBareRemote } from '../support/git-repos.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the bgagent CLI against a running server', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ dialect: 'sqlite' });
    env = { BGAGENT_URL: server.url, BGAGENT_DATA_DIR: server.dataDir };
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('onboards a repo, submits with --wait and finds the branch pushed', async () => {
    const remote = createBareRemote();
    const add = await runCli(['repo', 'add', 'demo', '--url', remote.url, '--agent', 'command', '--agent-command', 'echo hi > hi.txt'], env);
    expect(add).toMatchObject({ code: 0, stdout: expect.stringContaining('Onboarded demo') });

    const submit = await runCli(['submit', '--repo', 'demo', '--task', 'Say hi', '--wait'], env);
    expect(submit.code).toBe(0);
    expect(submit.stderr).toContain('task_completed');
    expect(submit.stdout).toMatch(/Status\s+COMPLETED/);
    const branch = submit.stdout.match(/Branch\s+(\S+)/)![1]!;
    expect(branchesOf(remote.path)).toContain(branch);

    const list = await runCli(['list', '--json'], env);
    expect(JSON.parse(list.stdout).tasks[0]).toMatchObject({ repo: 'demo', status: 'COMPLETED', channel_source: 'cli' });
    const repos = await runCli(['repo', 'list'], env);
    expect(repos.stdout).toContain('demo');
  });

  it('prints JSON for scripts and exits non-zero when the task fails', async () => {
    await runCli(['repo', 'add', 'bad', '--url', createBareRemote().url, '--agent-command', 'exit 7'], env);
    const submit = await runCli(['submit', '--repo', 'bad', '--task', 'Fail', '--wait', '--json'], env);
    expect(submit.code).toBe(2);
    const out = JSON.parse(submit.stdout);
    expect(out.task).toMatchObject({ status: 'FAILED', error_code: 'AGENT_FAILED' });

    const status = await runCli(['status', out.task.id], env);
    expect(status.stdout).toContain('AGENT_FAILED');
    const watch = await runCli(['watch', out.task.id], env);
    expect(watch.code).toBe(2);
    expect(watch.stdout).toContain('task_failed');
    const events = await runCli(['events', out.task.id, '--json'], env);
    expect(JSON.parse(events.stdout).events.at(-1).type).toBe('task_failed');
  });

  it('replays a submit with the same idempotency key', async () => {
    await runCli(['repo', 'add', 'idem', '--url', createBareRemote().url, '--agent-command', 'true'], env);
    const a = await runCli(['submit', '--repo', 'idem', '--task', 'Once', '--idempotency-key', 'cli-key', '--json'], env);
    const b = await runCli(['submit', '--repo', 'idem', '--task', 'Once', '--idempotency-key', 'cli-key', '--json'], env);
    expect(JSON.parse(b.stdout)).toMatchObject({ replay: true, task: { id: JSON.parse(a.stdout).task.id } });
  });

  it('reports API errors as one line with the code and a non-zero exit', async () => {
    const res = await runCli(['submit', '--repo', 'nope', '--task', 'x'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('bgagent: repository "nope" is not onboarded; add it with: bgagent repo add nope --url <clone-url> (REPO_NOT_ONBOARDED)\n');
    const both = await runCli(['submit', '--repo', 'demo'], env);
    expect(both.stderr).toContain('exactly one of --task');
    const badFlag = await runCli(['submit', '--repo', 'demo', '--task', 'x', '--max-turns', 'lots'], env);
    expect(badFlag.code).not.toBe(0);
    expect(badFlag.stderr).toContain('--max-turns');
    const down = await runCli(['list'], { ...env, BGAGENT_URL: 'http://127.0.0.1:9' });
    expect(down.stderr).toContain('is `bgagent serve` running?');
    expect((await runCli(['list'], { ...env, BGAGENT_TOKEN: 'bga_nope' })).stderr).toContain('invalid or revoked API token');
  });

  it('creates, lists and revokes tokens; a revoked token is refused', async () => {
    const created = await runCli(['token', 'create', '--user', 'dana', '--json'], env);
    const { token, info } = JSON.parse(created.stdout);
    expect(token).toMatch(/^bga_/);
    const list = await runCli(['token', 'list', '--json'], env);
    expect(list.stdout).not.toContain(token);
    expect(JSON.parse(list.stdout).tokens.map((t: { user: string }) => t.user)).toContain('dana');
    expect((await runCli(['token', 'revoke', info.id], env)).code).toBe(0);
    expect((await runCli(['list'], { ...env, BGAGENT_TOKEN: token })).code).toBe(1);
  });

  it('lists repositories to a non-admin by name and branch only', async () => {
    await runCli(['repo', 'add', 'shown', '--url', createBareRemote().url, '--agent-command', 'true'], env);
    const { token } = JSON.parse((await runCli(['token', 'create', '--user', 'erin', '--json'], env)).stdout);
    const asUser = await runCli(['repo', 'list'], { ...env, BGAGENT_TOKEN: token });
    expect(asUser.code).toBe(0);
    const header = asUser.stdout.split('\n')[0]!;
    expect(header.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'BRANCH']);
    expect(asUser.stdout).toMatch(/shown\s+main/);
    const asAdmin = await runCli(['repo', 'list'], env);
    expect(asAdmin.stdout.split('\n')[0]!.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'AGENT', 'BRANCH', 'URL']);
  });

  it('cancels a task', async () => {
    await runCli(['repo', 'add', 'slow', '--url', createBareRemote().url, '--agent-command', 'sleep 30'], env);
    const sub = await runCli(['submit', '--repo', 'slow', '--task', 'Slow'], env);
    const id = sub.stdout.trim();
    const cancel = await runCli(['cancel', id], env);
    expect(cancel).toMatchObject({ code: 0, stdout: `Cancelled ${id}\n` });
    expect(JSON.parse((await runCli(['status', id, '--json'], env)).stdout).task.status).toBe('CANCELLED');
  });

  it('replies to a task: refused for an agent that takes no input, a continuation once the task has ended', async () => {
    await runCli(['repo', 'add', 'quiet', '--url', createBareRemote().url, '--agent-command', 'sleep 30'], env);
    const running = (await runCli(['submit', '--repo', 'quiet', '--task', 'Quiet'], env)).stdout.trim();
    const refused = await runCli(['reply', running, 'and also'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot take follow-ups or answers');
    expect((await runCli(['reply', running], env)).stderr).toContain('the message is empty');
    await runCli(['cancel', running], env);

    // A claude task with no model key configured fails at once; a reply then continues it in a new task.
    await runCli(['repo', 'add', 'talk', '--url', createBareRemote().url, '--agent', 'claude'], env);
    const failed = JSON.parse((await runCli(['submit', '--repo', 'talk', '--task', 'Talk', '--wait', '--json'], env)).stdout).task;
    expect(failed.status).toBe('FAILED');
    const reply = await runCli(['reply', failed.id, '--from-stdin', '--json'], env, 'Try once more, please\n');
    const out = JSON.parse(reply.stdout);
    expect(out).toMatchObject({ outcome: 'continued', task: { parent_task_id: failed.id, branch_name: failed.branch_name } });
    expect(out.task.task_description).toContain('Try once more, please');
    const text = await runCli(['reply', out.task.id, 'And again'], env);
    expect(text.stdout).toMatch(/had ended; the follow-up continues in the new task|Sent to the agent/);
  });

  it('explains itself with --help', async () => {
    const help = await runCli(['--help'], env);
    for (const cmd of ['serve', 'repo', 'submit', 'list', 'status', 'events', 'watch', 'reply', 'cancel', 'token']) expect(help.stdout).toContain(cmd);
    expect((await runCli(['submit', '--help'], env)).stdout).toContain('--idempotency-key');
  });
});
