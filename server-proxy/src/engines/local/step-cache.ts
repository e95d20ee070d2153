/**
 * The step cache: a step whose program, parameters, workspace files and
 * inputs are the same as in an earlier successful run is not run again; its
 * saved data and outputs are reused. The key of a step includes the keys of
 * the steps that provide its inputs, so a change anywhere upstream reaches it.
 */
import { createHash } from 'crypto';
import { cp, link, mkdir, readdir, readFile, rm, stat } from 'fs/promises';
import { join } from 'path';
import { writeJsonAtomic } from '../../atomic-file';

export function stepCacheKey(parts: {
  program: string;
  parameters: unknown;
  workspace: string;
  inputs: Record<string, string>;
}): string {
  // JSON of a fixed shape with sorted input names: the same step gives the same key.
  const inputs = Object.keys(parts.inputs)
    .sort()
    .map(name => [name, parts.inputs[name]]);
  return createHash('sha256')
    .update(JSON.stringify([parts.program, parts.parameters, parts.workspace, inputs]))
    .digest('hex');
}

/** Where a step's results are in a run folder. */
export interface CachedStepFiles {
  dataDir: string;
  stepDir: string;
  log: string;
}

export class StepCache {
  constructor(private readonly root: string) {}

  private entry(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  async has(key: string): Promise<boolean> {
    try {
      await stat(join(this.entry(key), 'complete.json'));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Copies a finished step's data, records and log into the cache, with the run that made them;
   * `complete.json` last, so a half copy is never used.
   */
  async store(key: string, files: CachedStepFiles, run: string): Promise<void> {
    const entry = this.entry(key);
    await rm(entry, { recursive: true, force: true });
    await linkTree(files.dataDir, join(entry, 'data'));
    await cp(files.stepDir, join(entry, 'step'), { recursive: true });
    await cp(files.log, join(entry, 'step.log')).catch(() => undefined);
    await writeJsonAtomic(join(entry, 'complete.json'), { stored: new Date().toISOString(), run });
  }

  /**
   * Puts a cached step's data, records and log where a run expects them, so that it shows like a step
   * that ran; returns the run that made them (when the entry says).
   */
  async restore(key: string, files: CachedStepFiles): Promise<{ run?: string }> {
    const entry = this.entry(key);
    await linkTree(join(entry, 'data'), files.dataDir);
    await cp(join(entry, 'step'), files.stepDir, { recursive: true });
    await cp(join(entry, 'step.log'), files.log).catch(() => undefined);
    try {
      const complete = JSON.parse(await readFile(join(entry, 'complete.json'), 'utf8')) as { run?: unknown };
      return typeof complete.run === 'string' ? { run: complete.run } : {};
    } catch {
      return {};
    }
  }
}

/**
 * Hard links when the file system allows (saved data is written once and
 * never changed in place), copies otherwise.
 */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  let entries;
  try {
    entries = await readdir(from, { withFileTypes: true });
  } catch {
    return; // a step with no outputs saved no data
  }
  for (const entry of entries) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await linkTree(source, target);
    } else {
      await link(source, target).catch(() => cp(source, target));
    }
  }
}
