/**
 * The workspace snapshot: a run sees the files as they were when it started, an unchanged file is not
 * copied again, and what a step writes never reaches the user's folder or the next run.
 */
import { createHash, randomBytes } from 'crypto';
import {
  appendFileSync,
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

  /** Until `done` settles: `write()` each turn of the event loop while a copy into the store has bytes in it. */
  async function whileCopying(done: Promise<unknown>, write: () => void, times = Infinity) {
    let settled = false;
    void done.finally(() => (settled = true));
    for (let written = 0; !settled && written < times;) {
      await new Promise(resolve => setImmediate(resolve));
      const copying = existsSync(store.root)
        ? readdirSync(store.root).filter(name => name.startsWith('.tmp-'))
        : [];
      if (
        copying.some(name => (statSync(join(store.root, name), { throwIfNoEntry: false })?.size ?? 0) > 0)
      ) {
        write();
        written++;
      }
    }
  }

  it('copies a file rewritten while it is copied again, and names the object by what it holds', async () => {
    const file = join(folder, 'data', 'busy.bin');
    const first = randomBytes(32 * 1024 * 1024);
    const second = randomBytes(16 * 1024 * 1024);
    writeFileSync(file, first);
    const adding = store.add(file);
    await whileCopying(adding, () => writeFileSync(file, second), 1);
    const { hash, size, settled } = await adding;
    const held = readFileSync(store.path(hash));
    expect(createHash('sha256').update(held).digest('hex')).toBe(hash);
    expect(held.length).toBe(size);
    expect(held.equals(second)).toBe(true);
    expect(settled).toBe(true);
  });

  it('says which files were written every time they were copied, and still takes the snapshot', async () => {
    const log = join(folder, 'data', 'train.log');
    writeFileSync(log, randomBytes(8 * 1024 * 1024));
    const taking = takeSnapshot(folder, store, runDir('r1'));
    await whileCopying(taking, () => appendFileSync(log, 'epoch done\n'));
    const snap = await taking;
    expect(snap.unsettled).toEqual(['data/train.log']);
    const held = readFileSync(store.path(snap.manifest.files['data/train.log']));
    expect(createHash('sha256').update(held).digest('hex')).toBe(snap.manifest.files['data/train.log']);
    expect(readFileSync(join(runDir('r1'), 'data', 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('leaves out a file removed while the workspace is copied in, and the run starts', async () => {
    const many = join(folder, 'many');
    mkdirSync(many);
    for (let i = 0; i < 8; i++) {
      writeFileSync(join(many, `f${i}.bin`), randomBytes(64 * 1024));
    }
    // Listed, then gone before they are copied in: removed when the first file is added.
    let gone: string[] = [];
    const removing = new (class extends ObjectStore {
      async add(file: string) {
        if (gone.length === 0) {
          gone = readdirSync(many)
            .filter(name => join(many, name) !== file)
            .slice(0, 3);
          gone.forEach(name => rmSync(join(many, name)));
        }
        return super.add(file);
      }
    })(store.root);
    const snap = await takeSnapshot(folder, removing, runDir('r1'));
    const listed = Object.keys(snap.manifest.files).filter(key => key.startsWith('many/'));
    expect(gone).toHaveLength(3);
    expect(listed).toHaveLength(5);
    expect(gone.some(name => listed.includes(`many/${name}`))).toBe(false);
    expect(existsSync(join(runDir('r1'), 'many', gone[0]))).toBe(false);
    expect(readdirSync(store.root).filter(name => name.startsWith('.tmp-'))).toEqual([]);
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
