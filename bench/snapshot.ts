/**
 * Benchmark: a second snapshot of a 1 GiB folder with one 10 MiB file changed,
 * against `cp -r` of the folder (issue 13 goal: under 5 %). Both are measured
 * several times in the same run, alternating, because `cp -r` varies from run
 * to run. Prints figures; not a test.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { ObjectStore, takeSnapshot } from '../server-proxy/src/engines/local/snapshot';

const FILES = 100;
const FILE_SIZE = 10 * 1024 * 1024;
const ROUNDS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const span = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;

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
    const first = await takeSnapshot(folder, store, join(root, 'run-first'));
    const firstMs = performance.now() - start;

    // Untimed: the setup's 2 GiB are written back now, not during the first rounds.
    spawnSync('sync');
    const copies: number[] = [];
    const seconds: number[] = [];
    let copied = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const copy = join(root, `copy-${round}`);
      start = performance.now();
      const cp = spawnSync('cp', ['-r', join(folder, 'data'), copy]);
      copies.push(performance.now() - start);
      if (cp.status !== 0) {
        throw new Error(`cp -r failed: ${cp.stderr.toString()}`);
      }
      rmSync(copy, { recursive: true, force: true });

      writeFileSync(join(folder, 'data', 'part-7.bin'), randomBytes(FILE_SIZE));
      start = performance.now();
      const second = await takeSnapshot(folder, store, join(root, `run-${round}`));
      seconds.push(performance.now() - start);
      copied = second.copied;
    }

    const gib = (FILES * FILE_SIZE) / 2 ** 30;
    const ratios = seconds.map((s, i) => (100 * s) / copies[i]);
    console.log(`snapshot benchmark: ${FILES} files, ${gib.toFixed(2)} GiB, ${ROUNDS} rounds`);
    console.log(`  cp -r:                             ${span(copies)}`);
    console.log(
      `  first snapshot (copy + hash):      ${firstMs.toFixed(0)} ms, ${first.copied} files copied`
    );
    console.log(`  second snapshot, one file changed: ${span(seconds)}, ${copied} file copied`);
    console.log(
      `  second snapshot / cp -r:           median ${median(ratios).toFixed(1)} % ` +
        `[${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}] (goal < 5 %)`
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
