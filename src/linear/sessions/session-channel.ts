import type { AgentEvent } from '../../agent/harness.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { Task } from '../../tasks/task.js';
import type { ActivityStreams, SessionActivity, SessionRef } from './activity-stream.js';
import { sessionMessages } from './messages.js';

const PARAMETER_CHARS = 200;
const RESULT_CHARS = 300;
const LINE_CHARS = 300;

/** How Claude Code's tools read in a session: "Reading src/a.ts", "Running npm test". */
const TOOL_VERBS: Record<string, string> = {
  Bash: 'Running',
  Read: 'Reading',
  Write: 'Writing',
  Edit: 'Editing',
  MultiEdit: 'Editing',
  NotebookEdit: 'Editing',
  Grep: 'Searching',
  Glob: 'Finding files',
  LS: 'Listing',
  WebFetch: 'Fetching',
  WebSearch: 'Searching the web',
  Task: 'Delegating',
  TodoWrite: 'Planning',
};
const PARAMETER_KEYS = ['command', 'file_path', 'notebook_path', 'path', 'pattern', 'url', 'query', 'description'];
/** The progress tool is reported by its `progress` event; its tool call would say the same twice. */
const SILENT_TOOLS = /report_progress$/;

/**
 * A task's life as activities in the Linear agent session it came from (tasks whose channel metadata has
 * `agentSessionId`): started and progress as thoughts, tool use as actions (ephemeral while running, then with
 * the result), the PR as an action, and the end as a response or an error. Every hook returns at once.
 */
export class AgentSessionChannel {
  /** Running tool calls by task, so a result can say which call it answers. */
  private readonly tools = new Map<string, Map<string, { action: string; parameter: string } | null>>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: { store: Store; streams: ActivityStreams; logger: Logger; defaultCap: number }) {}

  static handles(task: Task): boolean {
    return task.channelSource === 'linear' && typeof task.channelMetadata.agentSessionId === 'string';
  }

  queued(task: Task): void {
    this.track(this.sayQueued(task), task, 'could not tell the Linear session the task is queued');
  }

  started(task: Task): void {
    this.post(task, { kind: 'step', content: { type: 'thought', body: sessionMessages.started(task) } });
  }

  agentEvent(task: Task, ev: AgentEvent): void {
    const activity = this.activityFor(task, ev);
    if (activity) this.post(task, activity);
  }

  prCreated(task: Task, pr: { url: string; number: number }): void {
    this.post(task, { kind: 'step', content: { type: 'action', action: 'Opened pull request', parameter: `#${pr.number}`, result: pr.url } });
  }

  awaitingInput(task: Task, question: string): void {
    this.post(task, { kind: 'final', content: { type: 'elicitation', body: question } });
  }

  finished(task: Task): void {
    this.tools.delete(task.id);
    this.track(this.sayFinished(task), task, 'could not end the Linear agent session');
  }

  /** Resolves when every activity already asked for was sent or skipped. */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
    await this.deps.streams.drain();
  }

  private track(work: Promise<void>, task: Task, failure: string): void {
    const p = work.catch((err: unknown) => this.deps.logger.warn({ err, taskId: task.id }, failure)).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async sayQueued(task: Task): Promise<void> {
    if (!(await this.deps.store.linear.noteOnce(sessionOf(task).id, `queued:${task.id}`))) return;
    const user = await this.deps.store.users.getById(task.userId);
    this.post(task, { kind: 'step', content: { type: 'thought', body: sessionMessages.queued(user?.maxConcurrent ?? this.deps.defaultCap) } });
  }

  private async sayFinished(task: Task): Promise<void> {
    // The runner, recovery and a cancel may each report the end: the session hears it once.
    if (!(await this.deps.store.linear.noteOnce(sessionOf(task).id, `finished:${task.id}`))) return;
    const { type, body } = sessionMessages.finished(task, Date.now());
    this.post(task, { kind: 'final', content: { type, body } });
  }

  private activityFor(task: Task, ev: AgentEvent): SessionActivity | undefined {
    const data = ev.data ?? {};
    switch (ev.type) {
      case 'tool_use': {
        const tool = typeof data.tool === 'string' ? data.tool : ev.message.split(' ')[0]!;
        const id = typeof data.toolUseId === 'string' ? data.toolUseId : undefined;
        const calls = this.tools.get(task.id) ?? new Map();
        this.tools.set(task.id, calls);
        if (SILENT_TOOLS.test(tool)) {
          if (id) calls.set(id, null);
          return undefined;
        }
        const call = describeTool(tool, typeof data.input === 'string' ? data.input : ev.message.slice(tool.length + 1));
        if (id) calls.set(id, call);
        return { kind: 'transient', ephemeral: true, content: { type: 'action', ...call } };
      }
      case 'tool_result': {
        const id = typeof data.toolUseId === 'string' ? data.toolUseId : undefined;
        const calls = this.tools.get(task.id);
        const call = id ? calls?.get(id) : undefined;
        if (id) calls?.delete(id);
        if (!call) return undefined;
        const result = clip(`${data.isError === true ? 'Failed: ' : ''}${ev.message.trim() || '(no output)'}`, RESULT_CHARS);
        return { kind: 'step', content: { type: 'action', ...call, result }, fold: { category: 'tool', text: `${call.action} ${call.parameter}`, result } };
      }
      case 'progress':
        return { kind: 'step', content: { type: 'thought', body: ev.message }, fold: { category: 'note', text: ev.message } };
      case 'agent_message':
      case 'agent_output': {
        const line = ev.message.trim();
        return line ? { kind: 'transient', ephemeral: true, content: { type: 'thought', body: clip(line, LINE_CHARS) } } : undefined;
      }
      default:
        return undefined;
    }
  }

  private post(task: Task, activity: SessionActivity): void {
    this.deps.streams.post(sessionOf(task), { ...activity, taskId: task.id });
  }
}

function sessionOf(task: Task): SessionRef {
  const workspaceId = task.channelMetadata.workspaceId;
  return { id: String(task.channelMetadata.agentSessionId), workspaceId: typeof workspaceId === 'string' ? workspaceId : undefined };
}

/** A tool call as an action verb and its main parameter (the command, the file, the pattern …). */
export function describeTool(tool: string, input: string): { action: string; parameter: string } {
  const mcp = /^mcp__[^_]+(?:_[^_]+)*?__(.+)$/.exec(tool);
  const action = TOOL_VERBS[tool] ?? `Calling ${mcp ? mcp[1] : tool}`;
  let parameter: string | undefined;
  for (const key of PARAMETER_KEYS) {
    // The input is a preview of the JSON and may be cut short, so it is read field by field.
    const m = new RegExp(`"${key}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)`).exec(input);
    if (m) {
      parameter = unescape(m[1]!);
      break;
    }
  }
  return { action, parameter: clip(parameter ?? (input.trim() === '{}' ? '' : input.trim()), PARAMETER_CHARS) || tool };
}

function unescape(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
