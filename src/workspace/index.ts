export { WorkspaceManager, type Workspace, type PrepareOptions, type CommitOptions, type RepoRemote } from './workspace-manager.js';
export { GitError, type GitAuth } from './git.js';
export { slugify, taskBranchName } from '../tasks/branch.js';
