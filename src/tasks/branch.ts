/** A branch-safe slug of the task text: lowercase a-z, 0-9 and dashes, at most 40 characters, never empty. */
export function slugify(text: string, maxLength = 40): string {
  const slug = text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug || 'task';
}

export function taskBranchName(taskId: string, taskText: string): string {
  return `bgagent/${taskId.toLowerCase()}/${slugify(taskText)}`;
}
