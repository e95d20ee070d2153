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
import { createHash, Hash, randomBytes } from 'crypto';
import { constants, Dirent, linkSync, mkdirSync, readdirSync, Stats, statSync } from 'fs';
import { copyFile, FileHandle, mkdir, open, readFile, rename, rm, stat } from 'fs/promises';
import { dirname, join, relative, sep } from 'path';
import { setImmediate as nextTurn } from 'timers/promises';
import { writeJsonAtomic } from '../../atomic-file';

/** New or changed files copied into the store at once. */
const IN_FLIGHT = 16;

/**
 * Files looked at between two turns of the event loop. Their stat and link
 * calls are synchronous: each costs microseconds, a thread-pool round trip
 * costs more than the call, and a second snapshot is nearly all such calls.
 * Batches keep a workspace of many files from stalling the server.
 */
const BATCH = 512;

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
  /** Files written each time they were copied in (a log being appended to): the run may see part of a write. */
  unsettled: string[];
  /** The objects linked into the run's working directory, with their size and mtime, to check afterwards. */
  objects: Map<string, { size: number; mtimeMs: number }>;
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
}

/** Copies of a file that changed while it was copied, before the last copy is kept as it is. */
export const COPY_ATTEMPTS = 3;
const CHUNK = 4 * 1024 * 1024;
/** Smaller chunks for the copy, so that reading, hashing and writing overlap for most of a file. */
const PIPELINED_CHUNK = 1024 * 1024;

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

function walk(dir: string, into: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    // A folder removed while the workspace is walked holds nothing to snapshot.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return;
    }
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) {
        walk(path, into);
      }
    } else if (entry.isFile()) {
      into.push(path);
    }
  }
}

function statIfThere(path: string): Stats | null {
  return statSync(path, { throwIfNoEntry: false }) ?? null;
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

  /**
   * Copies a file in and returns the hash of what was copied, so the name always says what the object
   * holds even if the user's file changes meanwhile. Where the file system shares blocks (a reflink), the
   * clone costs nothing and is hashed by reading it. Elsewhere the file is read once, each chunk hashed
   * and written, between a stat before and after (size, mtime, ctime, inode): a file written meanwhile
   * is copied again, up to `COPY_ATTEMPTS` times, and `settled` is false when it never held still. (Not
   * the kernel's copyFile: libuv's copy spins forever on a file that shrinks while it is copied.)
   */
  async add(file: string): Promise<{ hash: string; size: number; settled: boolean }> {
    await mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      const { digest, size, settled } = await copyFile(file, tmp, constants.COPYFILE_FICLONE_FORCE).then(
        async () => ({ ...(await hashFile(tmp)), settled: true }),
        () => copyWhileStill(file, tmp)
      );
      const target = this.path(digest);
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      return { hash: digest, size, settled };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async remove(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }
}

/** The SHA-256 of `path` and its size. */
async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const input = await open(path, 'r');
  try {
    const size = await eachChunk(input, chunk => hash.update(chunk));
    return { digest: hash.digest('hex'), size };
  } finally {
    await input.close();
  }
}

/** The fields that change whenever a file's content is written or the file is replaced. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** Copies `from` to `to` and hashes what was copied, again when `from` changed meanwhile (`ObjectStore.add`). */
async function copyWhileStill(
  from: string,
  to: string
): Promise<{ digest: string; size: number; settled: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const before = await stat(from);
    const hash = createHash('sha256');
    const size = await copyHashing(from, to, hash);
    const after = await stat(from);
    const settled = sameFile(before, after) && size === after.size;
    if (settled || attempt === COPY_ATTEMPTS) {
      return { digest: hash.digest('hex'), size, settled };
    }
  }
}

/**
 * Copies `from` to `to` (with its mode, as copyFile does), hashing each chunk; the size. The next chunk is
 * read and this one written on libuv's threads while this thread hashes it, so a changed file costs about
 * its hashing time, not read + hash + write one after the other.
 */
async function copyHashing(from: string, to: string, hash: Hash): Promise<number> {
  const input = await open(from, 'r');
  try {
    const output = await open(to, 'w');
    try {
      await output.chmod((await input.stat()).mode & 0o7777);
      const buffers = [Buffer.allocUnsafe(PIPELINED_CHUNK), Buffer.allocUnsafe(PIPELINED_CHUNK)];
      let current = 0;
      let size = 0;
      let reading = input.read(buffers[current], 0, PIPELINED_CHUNK, null);
      let writing: Promise<void> = Promise.resolve();
      try {
        for (;;) {
          const { bytesRead } = await reading;
          // The other buffer is free once the write from it has ended.
          await writing;
          if (bytesRead === 0) {
            return size;
          }
          const chunk = buffers[current].subarray(0, bytesRead);
          current = 1 - current;
          reading = input.read(buffers[current], 0, PIPELINED_CHUNK, null);
          writing = writeAll(output, chunk);
          // Awaited after the next read: a write failing before then (a full disk) is not an unhandled
          // rejection, which would end the process.
          writing.catch(() => undefined);
          hash.update(chunk);
          size += bytesRead;
        }
      } finally {
        // On a failed read, the write still in flight must end before the file is closed.
        await writing.catch(() => undefined);
        await reading.catch(() => undefined);
      }
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

async function writeAll(output: FileHandle, chunk: Buffer): Promise<void> {
  for (let at = 0; at < chunk.length;) {
    at += (await output.write(chunk, at)).bytesWritten;
  }
}

/** Calls `use` on each chunk of `input`, in order; the bytes read. */
async function eachChunk(input: FileHandle, use: (chunk: Buffer) => unknown): Promise<number> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  for (;;) {
    const { bytesRead } = await input.read(buffer, 0, CHUNK, null);
    if (bytesRead === 0) {
      return size;
    }
    size += bytesRead;
    await use(buffer.subarray(0, bytesRead));
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
  const made = new Set<string>();
  const place = (key: string, hash: string, object: Stats) => {
    files[key] = hash;
    if (workdir) {
      const target = join(workdir, ...key.split('/'));
      const dir = dirname(target);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      linkSync(store.path(hash), target);
      objects.set(hash, { size: object.size, mtimeMs: object.mtimeMs });
    }
  };
  if (workdir) {
    mkdirSync(workdir, { recursive: true });
  }
  const paths: string[] = [];
  walk(folder, paths);
  // Known files cost a stat and a link; the others are copied in afterwards, several at once.
  const toAdd: { key: string; path: string; s: Stats }[] = [];
  for (let i = 0; i < paths.length; i++) {
    if (i > 0 && i % BATCH === 0) {
      await nextTurn();
    }
    const key = relative(folder, paths[i]).split(sep).join('/');
    const s = exclude.includes(key) ? null : statIfThere(paths[i]);
    if (!s) {
      continue;
    }
    const known = index[key];
    const object =
      known && known.size === s.size && known.mtimeMs === s.mtimeMs && known.ino === s.ino
        ? statIfThere(store.path(known.hash))
        : null;
    if (known && object) {
      next[key] = known;
      place(key, known.hash, object);
    } else {
      toAdd.push({ key, path: paths[i], s });
    }
  }
  let copied = 0;
  let bytesCopied = 0;
  const unsettled: string[] = [];
  let nextAdd = 0;
  const adder = async () => {
    while (nextAdd < toAdd.length) {
      const { key, path, s } = toAdd[nextAdd++];
      let added;
      try {
        added = await store.add(path);
      } catch (err) {
        // Removed since it was listed (an editor's swap file, Jupyter's temporary copy of a notebook it
        // saves): the snapshot is of the folder without it, as if it had gone a moment earlier.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !statIfThere(path)) {
          continue;
        }
        throw err;
      }
      copied++;
      bytesCopied += added.size;
      if (!added.settled) {
        unsettled.push(key);
      }
      next[key] = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, hash: added.hash };
      place(key, added.hash, statSync(store.path(added.hash)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, toAdd.length) }, adder));
  await writeJsonAtomic(indexPath, next);
  const all = createHash('sha256');
  for (const key of Object.keys(files).sort()) {
    all.update(`${key}\0${files[key]}\n`);
  }
  return {
    manifest: { hash: all.digest('hex'), files },
    copied,
    bytesCopied,
    unsettled: unsettled.sort(),
    objects
  };
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
