import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Whether `path` is `root` or below it, by name (resolve real paths first where links matter). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
