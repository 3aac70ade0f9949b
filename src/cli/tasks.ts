import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { TaskEventJson, TaskJson } from '../server/serialize.js';
import { ApiClient, CliError, clientOptionsFromEnv } from './client.js';
import { age, printJson, printTable, shortTime } from './output.js';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function client(): ApiClient {
  return new ApiClient(clientOptionsFromEnv());
}

function describeTask(t: TaskJson): string {
  const lines = [
    `Task     ${t.id}`,
    `Status   ${t.status}${t.outcome ? ` (${t.outcome})` : ''}`,
    `Repo     ${t.repo}`,
    `Branch   ${t.branch_name}`,
    `Source   ${t.channel_source}${t.issue ? `, issue ${t.issue}` : ''}`,
    `Created  ${shortTime(t.created_at)}`,
  ];
  if (t.started_at) lines.push(`Started  ${shortTime(t.started_at)}`);
  if (t.finished_at) lines.push(`Finished ${shortTime(t.finished_at)}`);
  if (t.pr_url) lines.push(`PR       ${t.pr_url}`);
  if (t.cost_usd !== null || t.turns !== null) {
    lines.push(`Agent    ${t.turns ?? '-'} turns${t.max_turns ? `/${t.max_turns}` : ''}, $${(t.cost_usd ?? 0).toFixed(4)}`);
  }
  lines.push(`Linear   ${t.linear_calls} API calls`);
  if (t.error_code) lines.push(`Error    ${t.error_code}: ${t.error_message}`);
  if (t.cancelled_by) lines.push(`Cancelled by ${t.cancelled_by}`);
  if (t.question) lines.push(`Question ${t.question}`, `         (answer with: bgagent reply ${t.id} "…")`);
  if (t.parent_task_id) lines.push(`Continues ${t.parent_task_id}`);
  lines.push(`Task     ${t.task_description.split('\n')[0]}`);
  return lines.join('\n');
}

function formatEvent(e: TaskEventJson): string {
  return `${shortTime(e.created_at)}  ${e.type.padEnd(18)} ${e.message}`;
}

/**
 * Follows a task's events until it is terminal; reconnects where it left off if the stream drops.
 * Returns the final task.
 */
async function follow(api: ApiClient, taskId: string, onEvent: (e: TaskEventJson) => void): Promise<TaskJson> {
  let after = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      for await (const msg of api.streamEvents(taskId, after)) {
        if (msg.event === 'task_event') {
          const e = msg.data as TaskEventJson;
          after = e.id;
          onEvent(e);
        }
      }
    } catch (err) {
      if (attempt >= 30 || (err instanceof CliError && !/cannot reach/.test(err.message))) throw err;
    }
    const { task } = await api.get<{ task: TaskJson }>(`/v1/tasks/${encodeURIComponent(taskId)}`).catch(() => ({ task: undefined }));
    if (task && TERMINAL.includes(task.status)) return task;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function exitFor(task: TaskJson): void {
  if (task.status !== 'COMPLETED') process.exitCode = 2;
}

export function registerTaskCommands(program: Command): void {
  program
    .command('submit')
    .description('Submit a task: an agent works on the repository and delivers a branch (and a PR on GitHub)')
    .requiredOption('--repo <name>', 'an onboarded repository (see `bgagent repo list`)')
    .option('--task <text>', 'what the agent should do')
    .option('--task-file <file>', 'read the task text from a file (- for stdin)')
    .option('--issue <ref>', 'the issue this task works on (e.g. a GitHub issue number or Linear identifier)')
    .option('--max-turns <n>', 'stop the agent after this many turns', positiveInt)
    .option('--max-budget <usd>', 'stop the agent when its model cost reaches this many US dollars', positiveNumber)
    .option('--idempotency-key <key>', 'submitting again with the same key returns the first task')
    .option('--wait', 'follow the task until it ends; exit 0 only if it COMPLETED')
    .option('--json', 'print JSON')
    .action(async (o: { repo: string; task?: string; taskFile?: string; issue?: string; maxTurns?: number; maxBudget?: number; idempotencyKey?: string; wait?: boolean; json?: boolean }) => {
      if (!o.task === !o.taskFile) throw new CliError('give exactly one of --task TEXT or --task-file FILE');
      const text = o.task ?? readFileSync(o.taskFile === '-' ? 0 : o.taskFile!, 'utf8');
      const api = client();
      const body = { repo: o.repo, task: text, issue: o.issue, max_turns: o.maxTurns, max_budget_usd: o.maxBudget };
      const headers = { 'x-bgagent-client': 'cli', ...(o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {}) };
      const res = await api.request<{ task: TaskJson }>('POST', '/v1/tasks', body, headers);
      const replay = res.headers.get('idempotent-replay') === 'true';
      let task = res.data.task;
      if (!o.json) process.stderr.write(`${replay ? 'Existing task (same idempotency key)' : 'Submitted'} ${task.id} (${task.status}) on ${task.branch_name}\n`);
      if (o.wait) {
        task = await follow(api, task.id, (e) => {
          if (!o.json) process.stderr.write(`${formatEvent(e)}\n`);
        });
        exitFor(task);
      }
      if (o.json) printJson({ task, replay });
      else if (o.wait) process.stdout.write(`${describeTask(task)}\n`);
      else process.stdout.write(`${task.id}\n`);
    });

  program
    .command('list')
    .description('List tasks, newest first')
    .option('--status <statuses>', 'only these statuses, comma-separated (e.g. RUNNING,QUEUED)')
    .option('--repo <name>', 'only this repository')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--json', 'print JSON')
    .action(async (o: { status?: string; repo?: string; limit: number; json?: boolean }) => {
      const q = new URLSearchParams({ limit: String(o.limit) });
      if (o.status) q.set('status', o.status);
      if (o.repo) q.set('repo', o.repo);
      const data = await client().get<{ tasks: TaskJson[]; next_cursor: string | null }>(`/v1/tasks?${q}`);
      if (o.json) return printJson(data);
      printTable(
        data.tasks.map((t) => ({ id: t.id, status: t.status, repo: t.repo, source: t.channel_source, age: age(t.created_at), task: t.task_description.split('\n')[0]!.slice(0, 50) })),
        ['id', 'status', 'repo', 'source', 'age', 'task'],
      );
    });

  program
    .command('status <id>')
    .description("Show a task's status, branch, PR, cost and error")
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { task } = await client().get<{ task: TaskJson }>(`/v1/tasks/${encodeURIComponent(id)}`);
      if (o.json) printJson({ task });
      else process.stdout.write(`${describeTask(task)}\n`);
    });

  program
    .command('events <id>')
    .description("Print a task's events so far")
    .option('--after <eventId>', 'only events after this event id', positiveInt)
    .option('--json', 'print JSON')
    .action(async (id: string, o: { after?: number; json?: boolean }) => {
      const data = await client().get<{ events: TaskEventJson[]; status: string }>(`/v1/tasks/${encodeURIComponent(id)}/events?after=${o.after ?? 0}`);
      if (o.json) return printJson(data);
      for (const e of data.events) process.stdout.write(`${formatEvent(e)}\n`);
    });

  program
    .command('watch <id>')
    .description('Follow a task live until it ends; exit 0 only if it COMPLETED')
    .option('--json', 'print each event as a JSON line')
    .action(async (id: string, o: { json?: boolean }) => {
      const task = await follow(client(), id, (e) => process.stdout.write(`${o.json ? JSON.stringify(e) : formatEvent(e)}\n`));
      if (!o.json) process.stdout.write(`\n${describeTask(task)}\n`);
      exitFor(task);
    });

  program
    .command('reply <id> [text]')
    .description(
      "Send a message to a task's agent: a follow-up it gets at its next turn while it runs, the answer to its " +
        'question while it waits (it resumes), or, once it has ended, a new task that continues it on the same branch and pull request',
    )
    .option('--from-stdin', 'read the message from standard input')
    .option('--json', 'print JSON')
    .action(async (id: string, text: string | undefined, o: { fromStdin?: boolean; json?: boolean }) => {
      if (o.fromStdin && text !== undefined) throw new CliError('give the message as an argument or with --from-stdin, not both');
      const message = o.fromStdin ? readFileSync(0, 'utf8') : text;
      if (message === undefined || !message.trim()) throw new CliError('the message is empty: bgagent reply <id> "what to do" (or --from-stdin)');
      const { data } = await client().request<{ outcome: string; task: TaskJson }>('POST', `/v1/tasks/${encodeURIComponent(id)}/input`, { text: message });
      if (o.json) return printJson(data);
      const said = {
        delivered: `Sent to the agent of ${data.task.id}; it gets the message at its next turn.`,
        answered: `Answered; ${data.task.id} resumes when a worker is free.`,
        continued: `${id} had ended; the follow-up continues in the new task ${data.task.id} (bgagent watch ${data.task.id}).`,
      }[data.outcome];
      process.stdout.write(`${said ?? data.outcome}\n`);
    });

  program
    .command('cancel <id>')
    .description("Cancel a task; a running agent's whole process tree is stopped")
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { data } = await client().request<{ task: TaskJson }>('DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
      if (o.json) printJson(data);
      else process.stdout.write(`Cancelled ${data.task.id}\n`);
    });
}
