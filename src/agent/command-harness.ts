import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { silentLogger, type Logger } from '../log.js';
import type { AgentEvent, AgentHarness, AgentResult, AgentRunInput } from './harness.js';
import { resolveSandboxMode, wrapCommand, type SandboxMode } from '../sandbox/sandbox.js';
import { AgentProcesses, type AgentGroup } from '../sandbox/agent-processes.js';

export interface CommandHarnessOptions {
  /** Hidden from the agent by the sandbox; the agent's process group is recorded there for the start-up reaper. */
  dataDir: string;
  /** Unset: bwrap, and no run without it; `none` only when the operator says so. */
  sandbox?: SandboxMode;
  logger?: Logger;
  /** After SIGTERM, how long the process group gets before SIGKILL (default 2 s). */
  killGraceMs?: number;
}

const MAX_LINE_CHARS = 2000;
/** Past this many output lines a run's output is no longer recorded as events (one notice says so). */
const MAX_OUTPUT_EVENTS = 10_000;
const TAIL_LINES = 10;
const TAIL_CHARS = 2000;

type StopReason = 'timed_out' | 'cancelled';

/**
 * The `command` agent: the repository's shell command (`settings.command`) run with `/bin/sh -c` in the
 * workspace. The task text arrives on stdin and in BGAGENT_TASK / BGAGENT_TASK_FILE; the environment is
 * exactly the run's env plus those; each output line is an event; exit code 0 is success.
 */
export class CommandHarness implements AgentHarness {
  readonly name = 'command';
  private readonly logger: Logger;
  private readonly processes: AgentProcesses;

  constructor(private readonly opts: CommandHarnessOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.processes = new AgentProcesses({ dataDir: opts.dataDir, logger: this.logger });
  }

  async run(input: AgentRunInput): Promise<AgentResult> {
    const command = input.settings.command;
    if (typeof command !== 'string' || !command.trim()) {
      return { outcome: 'failed', errorMessage: 'the repository has no agent command configured (agent settings "command")' };
    }
    if (input.signal.aborted) return { outcome: 'cancelled' };
    const sandbox = await resolveSandboxMode(this.opts.sandbox);
    if ('error' in sandbox) return { outcome: 'failed', errorMessage: sandbox.error };

    const taskDir = mkdtempSync(join(tmpdir(), 'bgagent-task-'));
    try {
      const taskFile = join(taskDir, 'task.md');
      writeFileSync(taskFile, input.taskText, { mode: 0o600 });
      const env: Record<string, string> = { ...input.env, BGAGENT_TASK: input.taskText, BGAGENT_TASK_FILE: taskFile };
      const argv = wrapCommand(['/bin/sh', '-c', command], {
        workspacePath: input.workspacePath,
        mirrorPath: input.mirrorPath,
        mode: sandbox.mode,
        home: env.HOME,
        readOnlyPaths: [taskDir],
      });
      this.logger.info({ taskId: input.taskId, sandbox: sandbox.mode }, 'starting the agent command');
      let group: AgentGroup;
      try {
        group = this.processes.spawn({ argv, cwd: input.workspacePath, env, taskId: input.taskId, sandbox: sandbox.mode });
      } catch (err) {
        return { outcome: 'failed', errorMessage: `could not start the agent command: ${err instanceof Error ? err.message : String(err)}` };
      }
      return await this.supervise(group, input);
    } finally {
      rmSync(taskDir, { recursive: true, force: true });
    }
  }

  private async supervise(group: AgentGroup, input: AgentRunInput): Promise<AgentResult> {
    const { child } = group;
    const output = new OutputEvents(input.onEvent);
    const stdout = output.stream('stdout', child.stdout);
    const stderr = output.stream('stderr', child.stderr);
    child.stdin.on('error', () => {}); // a command that never reads stdin closes it early
    child.stdin.end(input.taskText);

    let stopReason: StopReason | undefined;
    let killing: Promise<void> | undefined;
    const stop = (reason: StopReason): void => {
      stopReason ??= reason;
      killing ??= group.stop(this.opts.killGraceMs ?? 2000);
    };
    const timer = setTimeout(() => stop('timed_out'), Math.max(0, input.timeoutMs));
    const onAbort = (): void => stop('cancelled');
    input.signal.addEventListener('abort', onAbort, { once: true });

    try {
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
        child.once('error', (error) => done({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => done({ code, signal }));
      });
      clearTimeout(timer);
      // Whatever the command left running in the background ends with it.
      await killing;
      await group.stop(0);
      await drain(child, 500);
      output.flush();

      if (stopReason === 'cancelled') return { outcome: 'cancelled', errorMessage: 'the agent was cancelled' };
      if (stopReason === 'timed_out') return { outcome: 'timed_out', errorMessage: `the agent command ran past its time limit (${input.timeoutMs} ms)` };
      if (exit.error) return { outcome: 'failed', errorMessage: `could not start the agent command: ${exit.error.message}` };
      if (exit.code === 0) return { outcome: 'success', summary: stdout.tail() || undefined };
      const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
      const tail = stderr.tail();
      return { outcome: 'failed', errorMessage: `the agent command ${how}${tail ? `:\n${tail}` : ''}` };
    } finally {
      clearTimeout(timer);
      input.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Waits for the output pipes to close; a process that escaped the group may hold them open, so not forever. */
async function drain(child: ChildProcess, ms: number): Promise<void> {
  if (child.stdout?.closed && child.stderr?.closed) return;
  await Promise.race([new Promise((r) => child.once('close', r)), new Promise((r) => setTimeout(r, ms))]);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Splits a stream into capped lines, each an `agent_output` event, and keeps the last lines for the result. */
class OutputEvents {
  private count = 0;
  private readonly streams: LineStream[] = [];

  constructor(private readonly onEvent: (ev: AgentEvent) => void) {}

  stream(name: 'stdout' | 'stderr', readable: Readable): LineStream {
    const lines = new LineStream((line) => this.emit(name, line));
    readable.setEncoding('utf8');
    readable.on('data', (chunk: string) => lines.push(chunk));
    this.streams.push(lines);
    return lines;
  }

  flush(): void {
    for (const s of this.streams) s.end();
  }

  private emit(stream: 'stdout' | 'stderr', line: string): void {
    this.count++;
    if (this.count > MAX_OUTPUT_EVENTS) {
      if (this.count === MAX_OUTPUT_EVENTS + 1) {
        this.onEvent({ type: 'agent_output', message: `(output past ${MAX_OUTPUT_EVENTS} lines is not recorded)`, data: { stream } });
      }
      return;
    }
    try {
      this.onEvent({ type: 'agent_output', message: line, data: { stream } });
    } catch {
      // a failing listener must not stop the agent
    }
  }
}

class LineStream {
  private partial = '';
  private overflowing = false;
  private readonly last: string[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.line(part);
    if (this.partial.length > MAX_LINE_CHARS) {
      // An endless line: emit its start once, drop the rest up to the next newline.
      if (!this.overflowing) this.line(this.partial);
      this.overflowing = true;
      this.partial = '';
    }
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  /** The last lines seen (non-empty), for a summary or an error message. */
  tail(): string {
    return this.last.join('\n').slice(-TAIL_CHARS);
  }

  private line(raw: string): void {
    if (this.overflowing) {
      this.overflowing = false;
      return;
    }
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > MAX_LINE_CHARS) line = `${line.slice(0, MAX_LINE_CHARS)}…`;
    this.onLine(line);
    if (line.trim()) {
      this.last.push(line);
      if (this.last.length > TAIL_LINES) this.last.shift();
    }
  }
}
