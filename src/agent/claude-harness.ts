import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  query,
  type Options,
  type SDKMessage,
  type SDKResultMessage,
  type SDKUserMessage,
  type SpawnOptions,
  type SpawnedProcess,
} from '@anthropic-ai/claude-agent-sdk';
import { silentLogger, type Logger } from '../log.js';
import { readAgentFile, writeAgentFile } from '../workspace/agent-files.js';
import type { AgentConversation, AgentEvent, AgentHarness, AgentOutcome, AgentResult, AgentRunInput } from './harness.js';
import { createTaskToolsServer, TASK_TOOLS_SERVER_NAME, type TaskTools } from './task-tools.js';
import { AgentProcesses, type AgentGroup } from '../sandbox/agent-processes.js';
import type { SandboxMode } from '../sandbox/sandbox.js';

/** How the Claude Code process is started; a sandbox may rewrite it (e.g. prefix `bwrap ...`). */
export interface AgentLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The sandbox the launch runs in; unset: none (the agent then gets a parent-death signal). */
  sandbox?: SandboxMode;
}

export interface ClaudeHarnessOptions {
  logger?: Logger;
  /** Where the agent's process groups are recorded for the start-up reaper; unset: not recorded. */
  dataDir?: string;
  /** The default model (from BGAGENT_MODEL); a repo's `settings.model` overrides it. Unset: Claude Code's default. */
  model?: string;
  /**
   * The model endpoint and its key, or the Bedrock settings (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL,
   * CLAUDE_CODE_USE_BEDROCK, AWS_REGION, ...), resolved from credentials for each run.
   */
  modelEnv: () => Promise<Record<string, string>>;
  /** In-process tools (task context, progress to the channel). */
  tools?: TaskTools;
  /** Claude Code executable; default the binary bundled with the SDK. */
  pathToClaudeCodeExecutable?: string;
  /** Rewrites the launch of the Claude Code process, e.g. to run it in a sandbox. */
  wrapLaunch?: (launch: AgentLaunch, run: { mirrorPath?: string }) => AgentLaunch;
}

/**
 * Defaults for the agent's environment, each overridable by the run's env or the model env.
 * Without a retry cap Claude Code retries an unreachable API for minutes (10 attempts with backoff).
 * The model key is visible to the agent's commands: CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1 hides it but
 * makes Claude Code require bubblewrap of its own, so it is the operator's choice (README, "The agent's environment").
 */
const AGENT_ENV_DEFAULTS: Record<string, string> = {
  CLAUDE_CODE_MAX_RETRIES: '2',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  PATH: '/usr/local/bin:/usr/bin:/bin',
};

const PREVIEW_CHARS = 200;
const MAX_MESSAGE_CHARS = 4000;
const STDERR_TAIL_CHARS = 2000;
/** The repository's guidance, appended to the system prompt (Claude Code loads no project settings here). */
const GUIDANCE_FILES = ['CLAUDE.md', 'AGENTS.md'];
const GUIDANCE_MAX_BYTES = 256 * 1024;
const TRANSCRIPT_MAX_BYTES = 64 * 1024 * 1024;
/** After the run ends, how long the agent's process group gets to exit before SIGKILL. */
const KILL_GRACE_MS = 2000;

type StopReason = 'cancelled' | 'timed_out';

export class ClaudeHarness implements AgentHarness {
  readonly name = 'claude';
  private readonly logger: Logger;

  constructor(private readonly opts: ClaudeHarnessOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  async run(input: AgentRunInput): Promise<AgentResult> {
    const log = this.logger.child({ taskId: input.taskId, harness: this.name });
    const abortController = new AbortController();
    let stopReason: StopReason | undefined;
    let stderrTail = '';
    const processes = new ProcessGroups(new AgentProcesses({ dataDir: this.opts.dataDir, logger: log }), input.taskId, (data) => {
      stderrTail = (stderrTail + data).slice(-STDERR_TAIL_CHARS);
    });
    const stop = (reason: StopReason): void => {
      if (stopReason) return;
      stopReason = reason;
      abortController.abort();
      // The SDK only signals its child after a grace period; the agent's commands stop now.
      processes.terminate();
    };
    if (input.signal.aborted) return { outcome: 'cancelled', errorMessage: 'The task was cancelled before the agent started' };
    const onCancel = (): void => stop('cancelled');
    input.signal.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => stop('timed_out'), input.timeoutMs);

    let tempHome: string | undefined;
    let costUsd: number | undefined;
    let turns: number | undefined;
    let lastText: string | undefined;
    let apiError: string | undefined;
    let result: SDKResultMessage | undefined;
    let question: string | undefined;
    let sessionId: string | undefined;
    let home: string | undefined;
    const turns$ = new TurnCounter();
    const followUps: string[] = [];

    try {
      const modelEnv = await this.opts.modelEnv();
      const env: Record<string, string> = { ...AGENT_ENV_DEFAULTS, ...input.env, ...modelEnv, CLAUDE_AGENT_SDK_CLIENT_APP: 'bgagent' };
      if (!input.env.HOME) {
        tempHome = mkdtempSync(join(tmpdir(), 'bgagent-agent-home-'));
        env.HOME = tempHome;
      }
      home = env.HOME!;
      if (input.resume) restoreTranscript(home, input.workspacePath, input.resume);
      // Claude Code refuses bypassPermissions as root unless told it is in a sandbox.
      if (process.getuid?.() === 0) env.IS_SANDBOX = '1';

      const model = typeof input.settings.model === 'string' && input.settings.model ? input.settings.model : this.opts.model;
      const guidance = GUIDANCE_FILES.flatMap((name) => {
        const text = readOptional(input.workspacePath, name, GUIDANCE_MAX_BYTES, log);
        return text ? [`The repository's ${name}:\n\n${text}`] : [];
      });
      const tools = this.opts.tools;
      const taskTools = createTaskToolsServer({
        getTaskContext: () => (tools ? tools.getTaskContext(input.taskId) : Promise.resolve(input.taskText)),
        reportProgress: async (message) => {
          input.onEvent({ type: 'progress', message });
          await tools?.reportProgress?.(input.taskId, message);
        },
        requestClarification: (q) => {
          question = q;
        },
      });

      const options: Options = {
        cwd: input.workspacePath,
        env,
        abortController,
        permissionMode: 'bypassPermissions',
        allowDangerouslySkipPermissions: true,
        // No settings files at all: the repository's .claude/settings.json is the agent's to write, and its `env`,
        // `apiKeyHelper` or hooks would send the model's traffic and key elsewhere. Its guidance files are read above.
        settingSources: [],
        systemPrompt: {
          type: 'preset',
          preset: 'claude_code',
          ...(guidance.length ? { append: guidance.join('\n\n') } : {}),
        },
        mcpServers: { [TASK_TOOLS_SERVER_NAME]: taskTools },
        strictMcpConfig: true,
        spawnClaudeCodeProcess: (spawnOpts) => processes.spawn(spawnOpts, this.opts.wrapLaunch && ((launch) => this.opts.wrapLaunch!(launch, { mirrorPath: input.mirrorPath }))),
        ...(input.resume ? { resume: input.resume.sessionId } : {}),
        ...(model ? { model } : {}),
        ...(input.maxTurns != null ? { maxTurns: input.maxTurns } : {}),
        ...(input.maxBudgetUsd != null ? { maxBudgetUsd: input.maxBudgetUsd } : {}),
        ...(this.opts.pathToClaudeCodeExecutable ? { pathToClaudeCodeExecutable: this.opts.pathToClaudeCodeExecutable } : {}),
      };

      log.info({ model: model ?? '(default)', maxTurns: input.maxTurns, maxBudgetUsd: input.maxBudgetUsd }, 'agent starting');
      // The SDK yields an error result and then throws; the result is what says what happened.
      const prompt = userMessages(input.prompt || input.taskText, {
        inputs: input.inputs,
        turns: turns$,
        asked: () => question !== undefined,
        stopped: abortController.signal,
        onFollowUp: (text) => {
          followUps.push(text);
          input.onEvent({ type: 'agent_message', message: `Follow-up passed to the agent: ${truncate(text, PREVIEW_CHARS)}`, data: { followUp: true } });
        },
      });
      for await (const message of query({ prompt, options })) {
        if ('session_id' in message && typeof message.session_id === 'string' && message.session_id) sessionId = message.session_id;
        if (message.type === 'result') {
          // One result per user message; with follow-ups the totals are the sum over them.
          costUsd = (costUsd ?? 0) + message.total_cost_usd;
          turns = (turns ?? 0) + message.num_turns;
          result = { ...message, total_cost_usd: costUsd, num_turns: turns };
          turns$.answered();
          continue;
        }
        const seen = emitMessageEvents(message, input.onEvent);
        if (seen.text) lastText = seen.text;
        if (seen.apiError) apiError = seen.apiError;
      }

      if (stopReason) return stoppedResult(stopReason, input, costUsd, turns, lastText);
      if (!result) return { outcome: 'failed', errorMessage: describeCrash(stderrTail), costUsd, turns };
      return withConversation(finish(result, input, apiError, log, question), input, home, sessionId, followUps);
    } catch (err) {
      if (stopReason) return stoppedResult(stopReason, input, costUsd, turns, lastText);
      if (result) return withConversation(finish(result, input, apiError, log, question), input, home, sessionId, followUps);
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message }, 'agent run failed');
      return { outcome: 'failed', errorMessage: `The agent could not run: ${message}${stderrTail ? ` (${lastLine(stderrTail)})` : ''}`, costUsd, turns };
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener('abort', onCancel);
      abortController.abort();
      await processes.killAll(KILL_GRACE_MS);
      if (tempHome) rmSync(tempHome, { recursive: true, force: true });
    }
  }
}

function finish(result: SDKResultMessage, input: AgentRunInput, apiError: string | undefined, log: Logger, question: string | undefined): AgentResult {
  const answered = resultOf(result, input, apiError);
  const agentResult: AgentResult = answered.outcome === 'success' && question !== undefined ? { ...answered, outcome: 'awaiting_input', question } : answered;
  input.onEvent({
    type: 'agent_output',
    message: agentResult.summary ?? agentResult.errorMessage ?? agentResult.outcome,
    data: {
      outcome: agentResult.outcome,
      costUsd: result.total_cost_usd,
      turns: result.num_turns,
      durationMs: result.duration_ms,
      sessionId: result.session_id,
    },
  });
  log.info({ outcome: agentResult.outcome, costUsd: result.total_cost_usd, turns: result.num_turns }, 'agent finished');
  return agentResult;
}

/**
 * The user messages of one run: the prompt, then each follow-up as it arrives (Claude Code hands one that
 * arrives mid-turn to the model with the next tool result). The stream ends, and Claude Code with it,
 * at the first answer after which nothing new is waiting; after a question, at the next answer.
 */
async function* userMessages(
  first: string,
  o: { inputs?: AgentRunInput['inputs']; turns: TurnCounter; asked: () => boolean; stopped: AbortSignal; onFollowUp(text: string): void },
): AsyncGenerator<SDKUserMessage> {
  yield userMessage(first);
  let answersAtLastMessage = o.turns.answers;
  for (;;) {
    if (o.stopped.aborted) return;
    const more = o.inputs && !o.asked() ? await o.inputs.take() : [];
    for (const text of more) {
      o.onFollowUp(text);
      yield userMessage(text);
      answersAtLastMessage = o.turns.answers;
    }
    if (more.length === 0 && o.turns.answers > answersAtLastMessage) return;
    const waiting = new AbortController();
    const onStop = (): void => waiting.abort();
    o.stopped.addEventListener('abort', onStop, { once: true });
    await Promise.race([o.turns.next(), o.inputs ? o.inputs.changed(waiting.signal) : new Promise(() => {})]);
    waiting.abort();
    o.stopped.removeEventListener('abort', onStop);
  }
}

function userMessage(text: string): SDKUserMessage {
  return { type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, priority: 'next' };
}

/** The answers (results) Claude Code has given so far, with a wait for the next one. */
class TurnCounter {
  answers = 0;
  private waiters: Array<() => void> = [];

  answered(): void {
    this.answers += 1;
    for (const wake of this.waiters.splice(0)) wake();
  }

  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Claude Code keeps a conversation in `$HOME/.claude/projects/<cwd with every non-alphanumeric character
 * as "-">/<session id>.jsonl`. A run's HOME is thrown away, so the transcript travels in the result and
 * is put back, under the new run's workspace path, to resume.
 */
function restoreTranscript(home: string, cwd: string, conversation: AgentConversation): void {
  const dir = join('.claude', 'projects', cwd.replace(/[^a-zA-Z0-9]/g, '-'));
  writeAgentFile(home, join(dir, `${conversation.sessionId}.jsonl`), conversation.transcript, { mode: 0o600 });
}

function readTranscript(home: string, sessionId: string): string | undefined {
  const projects = join(home, '.claude', 'projects');
  let dirs: string[];
  try {
    dirs = readdirSync(projects);
  } catch {
    return undefined;
  }
  for (const dir of dirs) {
    const text = readOptional(home, join('.claude', 'projects', dir, `${sessionId}.jsonl`), TRANSCRIPT_MAX_BYTES);
    if (text) return `${text}\n`;
  }
  return undefined;
}

/**
 * What reached the model as the person's words in a transcript: the text of user lines, and the messages
 * Claude Code absorbed mid-turn (`queued_command` attachments). Not tool results, and not a queue entry
 * alone: a message enqueued as the run ended may never have been shown. An unknown format counts as unseen,
 * which at worst hands a message to the agent twice.
 */
function userTexts(transcript: string): string[] {
  const texts: string[] = [];
  for (const line of transcript.split('\n')) {
    if (!line.includes('"type":"user"') && !line.includes('"queued_command"')) continue;
    let entry: { type?: unknown; message?: { content?: unknown }; attachment?: { type?: unknown; prompt?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.type === 'attachment' && entry.attachment?.type === 'queued_command' && typeof entry.attachment.prompt === 'string') texts.push(entry.attachment.prompt);
    if (entry.type !== 'user') continue;
    const content = entry.message?.content;
    if (typeof content === 'string') texts.push(content);
    else if (Array.isArray(content)) {
      for (const block of content as Array<{ type?: unknown; text?: unknown }>) if (block?.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    }
  }
  return texts;
}

/** Adds the conversation, and the follow-ups that never reached the model (sent as the run ended). */
function withConversation(result: AgentResult, input: AgentRunInput, home: string | undefined, sessionId: string | undefined, followUps: string[]): AgentResult {
  const transcript = home && sessionId ? readTranscript(home, sessionId) : undefined;
  const undelivered = unseenFollowUps(followUps, transcript, { restored: input.resume?.transcript, prompt: input.prompt || input.taskText });
  return {
    ...result,
    ...(transcript && sessionId ? { conversation: { sessionId, transcript } } : {}),
    ...(undelivered.length ? { undelivered } : {}),
  };
}

/**
 * The follow-ups no user message of this run holds. Claude Code may fold queued messages into one user
 * message (the prompt's, too), so a follow-up counts as seen when a user message of this run holds it outside
 * the prompt: earlier runs' messages and the prompt would otherwise "hold" a short reply such as "yes".
 */
export function unseenFollowUps(followUps: string[], transcript: string | undefined, run: { restored: string | undefined; prompt: string }): string[] {
  const thisRun = transcript && run.restored && transcript.startsWith(run.restored) ? transcript.slice(run.restored.length) : transcript;
  const said = thisRun ? userTexts(thisRun).map((t) => t.split(run.prompt).join('\n')) : [];
  return followUps.filter((text) => !said.some((t) => t.includes(text)));
}

function stoppedResult(reason: StopReason, input: AgentRunInput, costUsd?: number, turns?: number, lastText?: string): AgentResult {
  const errorMessage =
    reason === 'cancelled' ? 'The task was cancelled; the agent was stopped' : `The agent ran longer than ${Math.round(input.timeoutMs / 1000)} s and was stopped`;
  return { outcome: reason, errorMessage, costUsd, turns, ...(lastText ? { summary: lastText } : {}) };
}

function resultOf(result: SDKResultMessage, input: AgentRunInput, apiError: string | undefined): AgentResult {
  const base = { costUsd: result.total_cost_usd, turns: result.num_turns };
  if (result.subtype === 'success') {
    if (result.is_error) {
      return { ...base, outcome: 'failed', errorMessage: `The model API call failed: ${result.result || apiError || 'unknown error'}` };
    }
    return { ...base, outcome: 'success', summary: result.result };
  }
  const outcome: AgentOutcome =
    result.subtype === 'error_max_turns' ? 'max_turns' : result.subtype === 'error_max_budget_usd' ? 'budget_exceeded' : 'failed';
  const errorMessage =
    outcome === 'max_turns'
      ? `The agent reached its turn limit (${input.maxTurns ?? result.num_turns} turns)`
      : outcome === 'budget_exceeded'
        ? `The agent reached its budget of $${input.maxBudgetUsd} (spent $${result.total_cost_usd.toFixed(4)})`
        : `The agent stopped with an error: ${result.errors.join('; ') || apiError || result.subtype}`;
  return { ...base, outcome, errorMessage };
}

/** Turns one SDK message into task events; returns the assistant text and any API error it carried. */
function emitMessageEvents(message: SDKMessage, onEvent: (ev: AgentEvent) => void): { text?: string; apiError?: string } {
  const seen: { text?: string; apiError?: string } = {};
  if (message.type === 'assistant') {
    const parent = message.parent_tool_use_id ? { parentToolUseId: message.parent_tool_use_id } : {};
    if (message.error) seen.apiError = String(message.error);
    for (const block of message.message.content) {
      if (block.type === 'text' && block.text.trim()) {
        seen.text = block.text;
        onEvent({ type: 'agent_message', message: truncate(block.text, MAX_MESSAGE_CHARS), data: { ...parent } });
      } else if (block.type === 'tool_use' || block.type === 'server_tool_use' || block.type === 'mcp_tool_use') {
        const preview = truncate(JSON.stringify(block.input ?? {}), PREVIEW_CHARS);
        onEvent({ type: 'tool_use', message: `${block.name} ${preview}`, data: { tool: block.name, toolUseId: block.id, input: preview, ...parent } });
      }
    }
  } else if (message.type === 'user' && Array.isArray(message.message.content)) {
    for (const block of message.message.content) {
      if (typeof block === 'object' && block !== null && block.type === 'tool_result') {
        const preview = truncate(toolResultText(block.content), PREVIEW_CHARS);
        onEvent({ type: 'tool_result', message: preview, data: { toolUseId: block.tool_use_id, isError: block.is_error === true } });
      }
    }
  }
  return seen;
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .filter(Boolean)
    .join('\n');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A file the agent could write (HOME, workspace), trimmed; undefined when absent, empty or refused. */
function readOptional(root: string, path: string, maxBytes: number, log?: Logger): string | undefined {
  try {
    return readAgentFile(root, path, { maxBytes })?.trim() || undefined;
  } catch (err) {
    log?.warn({ path, err: err instanceof Error ? err.message : String(err) }, 'file not read');
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 300) ?? '';
}

function describeCrash(stderrTail: string): string {
  return `Claude Code exited without a result${stderrTail ? `: ${lastLine(stderrTail)}` : ''}`;
}

/**
 * Starts Claude Code in its own process group and stops its whole process tree: Claude Code runs each
 * Bash command in a session of its own, so signalling Claude Code's group alone would leave them running.
 */
class ProcessGroups {
  private readonly groups = new Set<AgentGroup>();

  constructor(
    private readonly processes: AgentProcesses,
    private readonly taskId: string,
    private readonly onStderr: (data: string) => void,
  ) {}

  spawn(spawnOpts: SpawnOptions, wrap?: (launch: AgentLaunch) => AgentLaunch): SpawnedProcess {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spawnOpts.env)) if (v !== undefined) env[k] = v;
    let launch: AgentLaunch = { command: spawnOpts.command, args: spawnOpts.args, cwd: spawnOpts.cwd ?? process.cwd(), env };
    if (wrap) launch = wrap(launch);
    const group = this.processes.spawn({ argv: [launch.command, ...launch.args], cwd: launch.cwd, env: launch.env, taskId: this.taskId, sandbox: launch.sandbox ?? 'none' });
    this.groups.add(group);
    const { child } = group;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (data: string) => this.onStderr(data));
    const onAbort = (): void => {
      group.signal('SIGKILL');
    };
    spawnOpts.signal.addEventListener('abort', onAbort, { once: true });
    child.once('exit', () => spawnOpts.signal.removeEventListener('abort', onAbort));
    const originalKill = child.kill.bind(child);
    child.kill = (signal?: NodeJS.Signals | number): boolean => group.signal(signal ?? 'SIGTERM') || originalKill(signal);
    return child as unknown as SpawnedProcess;
  }

  /** SIGKILL the commands the agent started now; SIGTERM Claude Code itself so it can finish its output. */
  terminate(): void {
    for (const group of this.groups) group.signal('SIGKILL', { leader: 'SIGTERM' });
  }

  /** SIGTERM every tree started, SIGKILL what is left after the grace period, and wait until it is gone. */
  async killAll(graceMs: number): Promise<void> {
    await Promise.all([...this.groups].map((group) => group.stop(graceMs)));
    this.groups.clear();
  }
}
