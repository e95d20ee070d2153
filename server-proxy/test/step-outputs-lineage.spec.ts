/**
 * A local step's output hashes in its run's lineage are the ones its runtime took once the step was done
 * (`hashes.json`): the engine never reads the data again to hash it, the steps it feeds (which may have
 * started before) get them as their inputs' hashes, and a step restored from the cache has them back with
 * its records.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { RunRecord } from '../../src/core/runs/run-record';
import { noteStepOutputs } from '../src/engines/local/lineage';
import { StepCache } from '../src/engines/local/step-cache';

const HASH = `sha256:${'1'.repeat(64)}`;
const OTHER = `sha256:${'2'.repeat(64)}`;

function record(): RunRecord {
  return {
    id: 'this',
    steps: { make: { status: 'succeeded' }, use: { status: 'running' } },
    lineage: {
      steps: {
        make: { program: '', parameters: {}, inputs: {} },
        // Started before make's hashes were known (forked from its process, or once it was done).
        use: { program: '', parameters: {}, inputs: { frame: { step: 'make', run: 'this' } } }
      }
    }
  } as unknown as RunRecord;
}

function ranStep(dir: string): void {
  mkdirSync(join(dir, 'steps', 'make'), { recursive: true });
  // What the runtime wrote: the hashes; the data file holds other bytes, and a value has no data file at
  // all: a hash read from the files would differ or be missing.
  writeFileSync(
    join(dir, 'steps', 'make', 'hashes.json'),
    JSON.stringify({ frame: HASH, gone: OTHER, bad: 42 }) // not a hash: left out
  );
  writeFileSync(join(dir, 'steps', 'make', 'complete.json'), '{}');
  mkdirSync(join(dir, 'data', 'make'), { recursive: true });
  writeFileSync(join(dir, 'data', 'make', 'frame.arrow'), 'not what was hashed');
  writeFileSync(join(dir, 'data', 'make', 'frame.json'), '{}');
}

describe('noteStepOutputs', () => {
  it("takes the runtime's hashes, not the files' bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellpipe-outputs-'));
    ranStep(dir);
    const run = record();
    await noteStepOutputs(dir, run, 'make');
    expect(run.lineage!.steps.make.outputs).toEqual({ frame: HASH, gone: OTHER });
  });

  it("gives the steps it feeds their inputs' hashes, though they started before", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellpipe-outputs-'));
    ranStep(dir);
    const run = record();
    await noteStepOutputs(dir, run, 'make');
    expect(run.lineage!.steps.use.inputs.frame).toEqual({ step: 'make', run: 'this', hash: HASH });
  });

  it('leaves the lineage without them when the step could not hash its values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellpipe-outputs-'));
    mkdirSync(join(dir, 'steps', 'make'), { recursive: true });
    const run = record();
    await noteStepOutputs(dir, run, 'make');
    expect(run.lineage!.steps.make.outputs).toBeUndefined();
    expect(run.lineage!.steps.use.inputs.frame.hash).toBeUndefined();
  });

  it('gives a step restored from the cache the hashes of the run that made it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellpipe-outputs-'));
    ranStep(dir);
    const cache = new StepCache(join(dir, 'cache'));
    const files = (run: string) => ({
      dataDir: join(run, 'data', 'make'),
      stepDir: join(run, 'steps', 'make'),
      log: join(run, 'make.log')
    });
    writeFileSync(join(dir, 'make.log'), '');
    await cache.store('ab'.repeat(32), files(dir), 'first');
    const later = join(dir, 'later');
    await cache.restore('ab'.repeat(32), files(later));
    const run = record();
    await noteStepOutputs(later, run, 'make');
    expect(run.lineage!.steps.make.outputs).toEqual({ frame: HASH, gone: OTHER });
  });
});
