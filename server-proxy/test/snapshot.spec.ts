/**
 * The workspace snapshot: a run sees the files as they were when it started, an unchanged file is not
 * copied again, and what a step writes never reaches the user's folder or the next run.
 */
import { createHash, randomBytes } from 'crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { dropChangedObjects, ObjectStore, takeSnapshot } from '../src/engines/local/snapshot';

describe('takeSnapshot', () => {
  let folder: string;
  let store: ObjectStore;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'cellpipe-snapshot-'));
    mkdirSync(join(folder, 'data', 'deep'), { recursive: true });
    writeFileSync(join(folder, 'data', 'a.txt'), 'alpha');
    writeFileSync(join(folder, 'data', 'deep', 'b.txt'), 'beta');
    writeFileSync(join(folder, 'analysis.ipynb'), '{}');
    mkdirSync(join(folder, '.git'));
    writeFileSync(join(folder, '.git', 'HEAD'), 'ref');
    store = new ObjectStore(join(folder, '.cellpipe', 'objects'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));
  // Run folders live in .cellpipe, as the engine keeps them: a snapshot does not take runs in.
  const runDir = (name: string) => join(folder, '.cellpipe', 'runs', name);

  it('gives the run the files as they were, and later edits of the user do not reach it', async () => {
    const run = runDir('r1');
    const snap = await takeSnapshot(folder, store, run, ['analysis.ipynb']);
    expect(Object.keys(snap.manifest.files).sort()).toEqual(['data/a.txt', 'data/deep/b.txt']);
    writeFileSync(join(folder, 'data', 'a.txt'), 'edited after Run');
    expect(readFileSync(join(run, 'data', 'a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(run, 'data', 'deep', 'b.txt'), 'utf8')).toBe('beta');
  });

  it('keeps a file executable', async () => {
    writeFileSync(join(folder, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await takeSnapshot(folder, store, runDir('r1'));
    expect(statSync(join(runDir('r1'), 'run.sh')).mode & 0o777).toBe(0o755);
  });

  it('copies only new or changed files the next time, and names the workspace by its content', async () => {
    const first = await takeSnapshot(folder, store, runDir('r1'));
    expect(first.copied).toBe(3);
    const again = await takeSnapshot(folder, store, runDir('r2'));
    expect(again.copied).toBe(0);
    expect(again.manifest.hash).toBe(first.manifest.hash);

    writeFileSync(join(folder, 'data', 'a.txt'), 'changed');
    const changed = await takeSnapshot(folder, store, runDir('r3'));
    expect(changed.copied).toBe(1);
    expect(changed.manifest.hash).not.toBe(first.manifest.hash);
    expect(readFileSync(join(runDir('r3'), 'data', 'a.txt'), 'utf8')).toBe('changed');
    expect(readFileSync(join(runDir('r1'), 'data', 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('names a large object by the SHA-256 of all of its bytes', async () => {
    const big = randomBytes(9 * 1024 * 1024 + 17); // more than two read chunks, not a multiple of one
    writeFileSync(join(folder, 'data', 'big.bin'), big);
    const snap = await takeSnapshot(folder, store, null);
    const hash = snap.manifest.files['data/big.bin'];
    expect(hash).toBe(createHash('sha256').update(big).digest('hex'));
    expect(readFileSync(store.path(hash)).equals(big)).toBe(true);
  });

  it('names an object by what it holds when the user rewrites the file while it is copied', async () => {
    const file = join(folder, 'data', 'busy.bin');
    const first = randomBytes(32 * 1024 * 1024);
    const second = randomBytes(16 * 1024 * 1024);
    writeFileSync(file, first);
    const adding = store.add(file);
    // The hash of a large file yields to the event loop: the rewrite lands once the copy has begun.
    while (!(existsSync(store.root) && readdirSync(store.root).some(name => name.startsWith('.tmp-')))) {
      await new Promise(resolve => setImmediate(resolve));
    }
    writeFileSync(file, second);
    const { hash, size } = await adding;
    const held = readFileSync(store.path(hash));
    expect(createHash('sha256').update(held).digest('hex')).toBe(hash);
    expect(held.length).toBe(size);
    expect(held.equals(first) || held.equals(second)).toBe(true);
  });

  it('drops an object a step rewrote in place, and the next snapshot copies the user file again', async () => {
    const run = runDir('r1');
    const snap = await takeSnapshot(folder, store, run);
    const before = statSync(join(run, 'data', 'a.txt')).mtimeMs;
    writeFileSync(join(run, 'data', 'a.txt'), 'written by a step, through the link');
    expect(statSync(join(run, 'data', 'a.txt')).mtimeMs).not.toBe(before);
    expect(await dropChangedObjects(store, snap)).toEqual(['data/a.txt']);
    expect(readFileSync(join(folder, 'data', 'a.txt'), 'utf8')).toBe('alpha');

    const next = await takeSnapshot(folder, store, runDir('r2'));
    expect(next.copied).toBe(1);
    expect(readFileSync(join(runDir('r2'), 'data', 'a.txt'), 'utf8')).toBe('alpha');
  });
});
