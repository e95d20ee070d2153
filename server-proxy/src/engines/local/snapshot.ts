/**
 * The workspace snapshot: the notebook's folder as it was when the run was
 * submitted, content-addressed. Every file goes into an object store
 * (`.cellpipe/objects/`, named by SHA-256) once; each run gets a working
 * directory of hard links to those objects. An unchanged file costs one stat
 * the next time, so a run is reproducible, cheap to take again, and its steps
 * cannot clobber the user's files: what they write stays in the run.
 *
 * The objects stay writable, so a step may rewrite a file in place as the
 * notebook would; such an object no longer matches its name and is dropped
 * from the store after the run (`dropChangedObjects`).
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream, createWriteStream } from 'fs';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { link, mkdir, readdir, readFile, rename, rm, stat } from 'fs/promises';
import { dirname, join, relative, sep } from 'path';
import { writeJsonAtomic } from '../../atomic-file';

/** Files snapshotted at once. */
const IN_FLIGHT = 16;

export interface Manifest {
  /** SHA-256 over the sorted (path, file hash) pairs: the identity of the workspace. */
  hash: string;
  files: Record<string, string>;
}

export interface Snapshot {
  manifest: Manifest;
  /** Files copied into the store this time (new or changed); the others were already there. */
  copied: number;
  bytesCopied: number;
  /** The objects linked into the run's working directory, with their size and mtime, to check afterwards. */
  objects: Map<string, { size: number; mtimeMs: number }>;
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
}

const CHUNK = 4 * 1024 * 1024;

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

export class ObjectStore {
  constructor(readonly root: string) {}

  path(hash: string): string {
    return join(this.root, hash.slice(0, 2), hash);
  }

  /** The object's size and mtime, or null when the store does not have it. */
  async statObject(hash: string): Promise<{ size: number; mtimeMs: number } | null> {
    try {
      const s = await stat(this.path(hash));
      return { size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      return null;
    }
  }

  /** Copies a file in while hashing it (one read); returns the hash of what was copied. */
  async add(file: string): Promise<{ hash: string; size: number }> {
    await mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      }
    });
    try {
      // Large chunks: hashing and copying are bound by per-chunk overhead at the default 64 KiB.
      await pipeline(
        createReadStream(file, { highWaterMark: CHUNK }),
        tap,
        createWriteStream(tmp, { highWaterMark: CHUNK })
      );
      const digest = hash.digest('hex');
      const target = this.path(digest);
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      return { hash: digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async remove(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }
}

/**
 * Takes a snapshot of `folder` into `store` and, when `workdir` is given,
 * builds a working directory of hard links to it. `exclude`: files that are
 * not workspace data (the notebook itself: its cells reach the steps through
 * their programs).
 */
export async function takeSnapshot(
  folder: string,
  store: ObjectStore,
  workdir: string | null,
  exclude: readonly string[] = []
): Promise<Snapshot> {
  const indexPath = join(folder, '.cellpipe', 'index.json');
  let index: Record<string, IndexEntry> = {};
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8')) as Record<string, IndexEntry>;
  } catch {
    // no index yet: every file is read once
  }
  const next: Record<string, IndexEntry> = {};
  const files: Record<string, string> = {};
  const objects = new Map<string, { size: number; mtimeMs: number }>();
  if (workdir) {
    await mkdir(workdir, { recursive: true });
  }
  let copied = 0;
  let bytesCopied = 0;
  const made = new Map<string, Promise<unknown>>();
  const ensureDir = (dir: string) => {
    let done = made.get(dir);
    if (!done) {
      done = mkdir(dir, { recursive: true });
      made.set(dir, done);
    }
    return done;
  };
  const paths: string[] = [];
  for await (const path of walk(folder)) {
    const key = relative(folder, path).split(sep).join('/');
    if (!exclude.includes(key)) {
      paths.push(path);
    }
  }
  // Files are independent: several in flight at once hide the latency of each stat and link.
  const snapshotFile = async (path: string) => {
    const key = relative(folder, path).split(sep).join('/');
    const s = await stat(path);
    const known = index[key];
    let hash: string;
    let object =
      known && known.size === s.size && known.mtimeMs === s.mtimeMs && known.ino === s.ino
        ? await store.statObject(known.hash)
        : null;
    if (object && known) {
      hash = known.hash;
    } else {
      const added = await store.add(path);
      hash = added.hash;
      object = await store.statObject(hash);
      copied++;
      bytesCopied += added.size;
    }
    next[key] = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, hash };
    files[key] = hash;
    if (workdir && object) {
      const target = join(workdir, ...key.split('/'));
      await ensureDir(dirname(target));
      await link(store.path(hash), target);
      objects.set(hash, object);
    }
  };
  let nextPath = 0;
  const worker = async () => {
    while (nextPath < paths.length) {
      await snapshotFile(paths[nextPath++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, paths.length) }, worker));
  await writeJsonAtomic(indexPath, next);
  const all = createHash('sha256');
  for (const key of Object.keys(files).sort()) {
    all.update(`${key}\0${files[key]}\n`);
  }
  return { manifest: { hash: all.digest('hex'), files }, copied, bytesCopied, objects };
}

/**
 * After a run: objects whose size or mtime changed were written in place
 * through a hard link. They no longer hold what their name says, so they
 * leave the store; the next snapshot copies the user's file again. Returns
 * the files affected.
 */
export async function dropChangedObjects(store: ObjectStore, snapshot: Snapshot): Promise<string[]> {
  const changed: string[] = [];
  for (const [hash, before] of snapshot.objects) {
    let now;
    try {
      now = await stat(store.path(hash));
    } catch {
      continue;
    }
    if (now.size !== before.size || now.mtimeMs !== before.mtimeMs) {
      await store.remove(hash);
      changed.push(
        ...Object.entries(snapshot.manifest.files)
          .filter(([, h]) => h === hash)
          .map(([file]) => file)
      );
    }
  }
  return changed;
}
