/**
 * File-system errors as one sentence a user can act on: what could not be done, where (relative to the
 * notebook's folder, never a server path), and why in words (disk full, not writable, name too long).
 */
import { basename, dirname, relative } from 'path';

const WHY: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'the folder or file may not be changed (read-only or immutable)',
  EROFS: 'the file system is read-only',
  ENAMETOOLONG: 'a file name is too long',
  ENOENT: 'a file or folder is missing',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EIO: 'the disk reported an input/output error'
};

/** `Could not write the run record in .cellpipe/runs/RUN: the disk is full (ENOSPC).` */
export function fileProblem(err: unknown, action: string, folder: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    (code && WHY[code]) ?? (err instanceof Error ? err.message.replace(/'\/[^']*'/g, '') : String(err));
  return `Could not ${action} in ${shortFolder(folder)}: ${why}${code ? ` (${code})` : ''}.`;
}

/** A run folder as `.cellpipe/runs/RUN`, any other folder by its last part: never a full server path. */
export function shortFolder(folder: string): string {
  const at = folder.lastIndexOf('/.cellpipe/');
  return at >= 0 ? folder.slice(at + 1) : basename(folder) || relative(dirname(folder), folder);
}
