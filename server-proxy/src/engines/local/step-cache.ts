/**
 * The step cache: a step whose program, parameters, workspace files and inputs are the same as in an
 * earlier successful run is not run again; its saved data and outputs are reused. The key of a step
 * includes the keys of the steps that provide its inputs, so a change anywhere upstream reaches it.
 *
 * Entries appear whole or not at all: an entry is built in a temporary folder beside its place and renamed
 * into it, and a restore builds the step's folders the same way, so a crash or a full disk never leaves a
 * half entry that a later run would take for a whole one.
 */
import { createHash, randomBytes } from 'crypto';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'fs/promises';
import { dirname, join } from 'path';

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
      await stat(join(this.entry(key), 'step', 'complete.json'));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores a finished step's data, records and log, with the run that made them (only for a step that
   * wrote its completion record). An entry that is already whole stays: it is never replaced under a run
   * that may be restoring from it.
   */
  async store(key: string, files: CachedStepFiles, run: string): Promise<void> {
    const entry = this.entry(key);
    if (await this.has(key)) {
      return;
    }
    await placeWhole(entry, async tmp => {
      await linkTree(files.dataDir, join(tmp, 'data'));
      await linkTree(files.stepDir, join(tmp, 'step'));
      await copyFile(files.log, join(tmp, 'step.log')).catch(() => undefined);
      await writeFile(join(tmp, 'origin.json'), JSON.stringify({ run }));
    });
  }

  /**
   * Puts a cached step's data, records and log where a run expects them, each folder whole, so that it
   * shows like a step that ran; returns the run that made them (when the entry says).
   */
  async restore(key: string, files: CachedStepFiles): Promise<{ run?: string }> {
    const entry = this.entry(key);
    await placeWhole(files.dataDir, tmp => linkTree(join(entry, 'data'), tmp));
    await placeWhole(files.stepDir, tmp => linkTree(join(entry, 'step'), tmp));
    await copyFile(join(entry, 'step.log'), files.log).catch(() => undefined);
    try {
      const origin = JSON.parse(await readFile(join(entry, 'origin.json'), 'utf8')) as { run?: unknown };
      return typeof origin.run === 'string' ? { run: origin.run } : {};
    } catch {
      return {};
    }
  }
}

/** Builds a folder in a temporary sibling and renames it into place (replacing what was there). */
async function placeWhole(target: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(target), `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(tmp, { recursive: true });
    await build(tmp);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Hard links when the file system allows (saved data is written once and never changed in place), copies
 * otherwise.
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
    } else if (entry.isFile()) {
      await link(source, target).catch(() => copyFile(source, target));
    }
  }
}
