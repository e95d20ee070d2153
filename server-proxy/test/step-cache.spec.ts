/**
 * The step cache: entries appear whole or not at all, a restore replaces a step's folders whole, and a
 * restored step has the log of the run that made it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { StepCache } from '../src/engines/local/step-cache';

function stepFolders(root: string, files: Record<string, string>, complete = true) {
  const data = join(root, 'data');
  const step = join(root, 'step');
  mkdirSync(data, { recursive: true });
  mkdirSync(step, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(data, name), text);
  }
  writeFileSync(join(step, 'outputs.json'), '{}');
  if (complete) {
    writeFileSync(join(step, 'complete.json'), '{}');
  }
  const log = join(root, 'step.log');
  writeFileSync(log, `printed in ${root}\n`);
  return { dataDir: data, stepDir: step, log };
}

describe('StepCache', () => {
  const key = 'ab'.repeat(32);

  it('knows a step only once it is stored whole, with its completion record', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cellpipe-cache-'));
    const cache = new StepCache(join(root, 'cache'));
    const unfinished = stepFolders(join(root, 'unfinished'), { 'x.json': '1' }, false);
    await cache.store(key, unfinished, 'run-1');
    expect(await cache.has(key)).toBe(false); // no completion record: never a cache entry
    const done = stepFolders(join(root, 'done'), { 'x.json': '2' });
    await cache.store(key, done, 'run-2');
    expect(await cache.has(key)).toBe(true);
    expect(readdirSync(join(root, 'cache', 'ab')).filter(n => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('restores over what an earlier attempt left: the folders are replaced whole, never merged', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cellpipe-cache-'));
    const cache = new StepCache(join(root, 'cache'));
    const done = stepFolders(join(root, 'done'), { 'x.json': 'cached' });
    await cache.store(key, done, 'run-1');
    const target = stepFolders(join(root, 'run'), { 'x.json': 'stale', 'leftover.json': 'stale' }, false);
    writeFileSync(join(target.stepDir, 'error.json'), '{"message": "an earlier attempt"}');
    expect(await cache.restore(key, target)).toEqual({ run: 'run-1' });
    expect(readdirSync(target.dataDir).sort()).toEqual(['x.json']);
    expect(readFileSync(join(target.dataDir, 'x.json'), 'utf8')).toBe('cached');
    expect(existsSync(join(target.stepDir, 'error.json'))).toBe(false);
    // The step shows the log of the run whose result it is, as a step that ran.
    expect(readFileSync(target.log, 'utf8')).toBe(`printed in ${join(root, 'done')}\n`);
    expect(readdirSync(join(root, 'run')).filter(n => n.startsWith('.tmp-'))).toEqual([]);
  });
});
