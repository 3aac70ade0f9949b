// A stand-in for the server (the built code): runs one command agent and prints its result. The test kills it -9 mid-run.
import { CommandHarness } from '../../dist/agent/index.js';

const [dataDir, sandbox, workspace, command] = process.argv.slice(2);
const result = await new CommandHarness({ dataDir, sandbox }).run({
  taskId: '01KILLEDSERVERTASK',
  workspacePath: workspace,
  taskText: 'linger',
  prompt: '',
  maxTurns: null,
  maxBudgetUsd: null,
  timeoutMs: 60_000,
  env: { PATH: '/usr/bin:/bin', HOME: workspace },
  settings: { command },
  signal: new AbortController().signal,
  onEvent: () => {},
});
console.log(JSON.stringify(result));
