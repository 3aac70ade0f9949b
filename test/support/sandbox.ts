import { detectSandbox } from '../../src/sandbox/index.js';

/** Whether bubblewrap works here. Under CI it must: the sandbox tests may not be skipped there. */
export const sandboxSupport = await detectSandbox();

if (!sandboxSupport.available) {
  if (process.env.CI) throw new Error(`bubblewrap must work in CI: the sandbox tests may not be skipped there (${sandboxSupport.reason})`);
  console.warn(`bubblewrap sandbox tests skipped: ${sandboxSupport.reason}`);
}
