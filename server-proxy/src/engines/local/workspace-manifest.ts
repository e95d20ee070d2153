/**
 * A content-addressed description of the notebook's folder: every file's
 * SHA-256, so that a run (and the step cache) knows exactly which files the
 * steps saw. Hashes are reused while a file's size, mtime and inode are
 * unchanged, so an unchanged folder costs one stat per file.
 */
import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import { readdir, readFile, stat } from 'fs/promises';
import { join, relative, sep } from 'path';
import { writeJsonAtomic } from '../../atomic-file';

export interface Manifest {
  /** SHA-256 over the sorted (path, file hash) pairs. */
  hash: string;
  files: Record<string, string>;
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
}

/** Folders that are not the user's data: cellpipe's own, VCS, caches, environments. */
const SKIPPED_DIRS = new Set([
  '.cellpipe',
  '.git',
  '.ipynb_checkpoints',
  '__pycache__',
  'node_modules',
  '.venv',
  'venv'
]);

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) {
        yield* walk(path);
      }
    } else if (entry.isFile()) {
      yield path;
    }
  }
}

/**
 * `exclude`: files that are not workspace data, such as the notebook itself
 * (its cells reach the steps through their programs, which the cache keys cover).
 */
export async function workspaceManifest(folder: string, exclude: readonly string[] = []): Promise<Manifest> {
  const indexPath = join(folder, '.cellpipe', 'index.json');
  let index: Record<string, IndexEntry> = {};
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8')) as Record<string, IndexEntry>;
  } catch {
    // no index yet: every file is hashed once
  }
  const next: Record<string, IndexEntry> = {};
  const files: Record<string, string> = {};
  for await (const path of walk(folder)) {
    const key = relative(folder, path).split(sep).join('/');
    if (exclude.includes(key)) {
      continue;
    }
    const s = await stat(path);
    const known = index[key];
    const hash =
      known && known.size === s.size && known.mtimeMs === s.mtimeMs && known.ino === s.ino
        ? known.hash
        : await hashFile(path);
    next[key] = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, hash };
    files[key] = hash;
  }
  await writeJsonAtomic(indexPath, next);
  const all = createHash('sha256');
  for (const key of Object.keys(files).sort()) {
    all.update(`${key}\0${files[key]}\n`);
  }
  return { hash: all.digest('hex'), files };
}
