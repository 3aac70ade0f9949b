import { createSdkMcpServer, tool, type McpSdkServerConfigWithInstance } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';

/**
 * In-process MCP tools for the agent. Their handlers run in the platform process, so whatever
 * credential they need (Linear, GitHub) never reaches the agent.
 */

export const TASK_TOOLS_SERVER_NAME = 'bgagent';

/** The names the model sees: mcp__<server>__<tool>. */
export const TASK_TOOL_NAMES = {
  getTaskContext: `mcp__${TASK_TOOLS_SERVER_NAME}__get_task_context`,
  reportProgress: `mcp__${TASK_TOOLS_SERVER_NAME}__report_progress`,
  requestClarification: `mcp__${TASK_TOOLS_SERVER_NAME}__request_clarification`,
} as const;

/** What the platform gives the harness for every task: resolved per task id. */
export interface TaskTools {
  /** The issue title, description and comments the task came from, as text for the agent. */
  getTaskContext(taskId: string): Promise<string>;
  /** Forward a progress note to the task's channel (the harness also emits a `progress` event). */
  reportProgress?(taskId: string, message: string): Promise<void>;
}

/** The handlers of one run's server, already bound to its task. */
export interface TaskToolHandlers {
  getTaskContext(): Promise<string>;
  reportProgress(message: string): Promise<void> | void;
  /** Records the question; the run ends after this turn and the task waits for the answer. */
  requestClarification(question: string): void;
}

const MAX_PROGRESS_CHARS = 1000;
const MAX_QUESTION_CHARS = 4000;

export function createTaskToolsServer(handlers: TaskToolHandlers): McpSdkServerConfigWithInstance {
  return createSdkMcpServer({
    name: TASK_TOOLS_SERVER_NAME,
    version: '1.0.0',
    tools: [
      tool(
        'get_task_context',
        'The full context of the task you are working on: the issue title, description and comments it came from.',
        {},
        async () => {
          try {
            return textResult(await handlers.getTaskContext());
          } catch (err) {
            return textResult(`The task context is not available: ${errorText(err)}`, true);
          }
        },
      ),
      tool(
        'report_progress',
        'Send a short progress note (one or two sentences) to the person who asked for this task.',
        { message: z.string().min(1).describe('What you have done or are doing now') },
        async ({ message }) => {
          try {
            await handlers.reportProgress(message.slice(0, MAX_PROGRESS_CHARS));
            return textResult('Progress reported.');
          } catch (err) {
            return textResult(`The progress note could not be sent: ${errorText(err)}`, true);
          }
        },
      ),
      tool(
        'request_clarification',
        'Ask the person who gave you this task a question you cannot answer from the repository or the task context. ' +
          'The task pauses until they answer; their answer arrives as your next message. Use it only when guessing would likely waste the work.',
        { question: z.string().min(1).describe('One clear question, with the options you see if there are any') },
        async ({ question }) => {
          handlers.requestClarification(question.slice(0, MAX_QUESTION_CHARS));
          return textResult('Your question was sent. Stop here and end your turn without further tool calls; the answer will arrive as the next message.');
        },
      ),
    ],
  });
}

function textResult(text: string, isError = false): { content: Array<{ type: 'text'; text: string }>; isError?: boolean } {
  return isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
