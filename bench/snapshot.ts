/**
 * Benchmark: taking a second snapshot of a 1 GiB folder with one file changed,
 * against a full copy of the folder (issue 3 goal: under 5 %). Prints figures; not a test.
 */
import { randomBytes } from 'crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { ObjectStore, takeSnapshot } from '../server-proxy/src/engines/local/snapshot';

const FILES = 100;
const FILE_SIZE = 10 * 1024 * 1024;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'cellpipe-snapshot-bench-'));
  try {
    const folder = join(root, 'work');
    mkdirSync(join(folder, 'data'), { recursive: true });
    for (let i = 0; i < FILES; i++) {
      writeFileSync(join(folder, 'data', `part-${i}.bin`), randomBytes(FILE_SIZE));
    }
    const store = new ObjectStore(join(folder, '.cellpipe', 'objects'));

    let start = performance.now();
    cpSync(join(folder, 'data'), join(root, 'copy'), { recursive: true });
    const fullCopy = performance.now() - start;

    start = performance.now();
    const first = await takeSnapshot(folder, store, join(root, 'run1'));
    const firstMs = performance.now() - start;

    writeFileSync(join(folder, 'data', 'part-7.bin'), randomBytes(FILE_SIZE));
    start = performance.now();
    const second = await takeSnapshot(folder, store, join(root, 'run2'));
    const secondMs = performance.now() - start;

    const gib = (FILES * FILE_SIZE) / 2 ** 30;
    console.log(`snapshot benchmark: ${FILES} files, ${gib.toFixed(2)} GiB`);
    console.log(`  full copy (cp -r):                 ${fullCopy.toFixed(0)} ms`);
    console.log(
      `  first snapshot (copy + hash):      ${firstMs.toFixed(0)} ms, ${first.copied} files copied`
    );
    console.log(
      `  second snapshot, one file changed: ${secondMs.toFixed(0)} ms, ${second.copied} file copied = ` +
        `${((100 * secondMs) / fullCopy).toFixed(1)} % of a full copy (goal < 5 %)`
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
