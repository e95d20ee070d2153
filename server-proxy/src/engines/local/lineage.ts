/**
 * The local engine's side of a run's lineage (`src/core/runs/lineage.ts`): the content hashes of what a
 * step saved, its inputs' hashes and origins once their providers finished, the Python and packages the
 * steps run on, and a workspace restored from an earlier run's snapshot (`cellpipe run --like`).
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import { link, mkdir, readdir, readFile } from 'fs/promises';
import { dirname, join } from 'path';
import type { EnvironmentLineage } from '../../../../src/core/runs/lineage';
import type { RunRecord } from '../../../../src/core/runs/run-record';
import { writeJsonAtomic } from '../../atomic-file';
import type { Manifest, ObjectStore, Snapshot } from './snapshot';

/** Beside a step's records (and so in its cache entry): the hashes of what it saved. */
const LINEAGE_FILE = 'lineage.json';

/**
 * A variable's file stem, as the step runtime names its files (`runtime.py` `file_stem`): its name, or for
 * a name of more than 100 bytes a prefix and a hash of it.
 */
export function fileStem(name: string): string {
  if (Buffer.byteLength(name) <= 100) {
    return name;
  }
  return `${name.slice(0, 60)}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** SHA-256 over a saved value's files (`NAME.json` and its data), by name and content. */
async function valueHash(folder: string, files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    for await (const chunk of createReadStream(join(folder, file), { highWaterMark: 4 * 1024 * 1024 })) {
      hash.update(chunk as Buffer);
    }
    hash.update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * After a step succeeded: the hashes of the values it saved, read from its `lineage.json` when it has one
 * (a step restored from the cache), else computed from `data/STEP/` and written there.
 */
export async function noteStepOutputs(dir: string, record: RunRecord, step: string): Promise<void> {
  const lineage = record.lineage?.steps[step];
  if (!lineage) {
    return;
  }
  const stepDir = join(dir, 'steps', step);
  try {
    const known = JSON.parse(await readFile(join(stepDir, LINEAGE_FILE), 'utf8')) as {
      outputs?: Record<string, string>;
    };
    if (known.outputs) {
      lineage.outputs = known.outputs;
      return;
    }
  } catch {
    // not recorded yet: computed below
  }
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(await readFile(join(stepDir, 'saved.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return; // a step that saved nothing
  }
  const dataDir = join(dir, 'data', step);
  const files = await readdir(dataDir).catch(() => [] as string[]);
  const outputs: Record<string, string> = {};
  for (const name of Object.keys(saved).sort()) {
    const stem = fileStem(name);
    outputs[name] = await valueHash(
      dataDir,
      files.filter(f => f === `${stem}.json` || f.startsWith(`${stem}.`))
    );
  }
  lineage.outputs = outputs;
  await writeJsonAtomic(join(stepDir, LINEAGE_FILE), { outputs });
}

const PROBE = `
import json, platform, sys
try:
    from importlib import metadata
    packages = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            packages[name.lower()] = d.version
except Exception:
    packages = None
print(json.dumps({"python": platform.python_version(), "executable": sys.executable, "packages": packages}))
`;

/** The Python version, its path and its installed packages, as the steps' Python reports them. */
export function pythonEnvironment(python: string): Promise<EnvironmentLineage> {
  return new Promise(resolve => {
    execFile(python, ['-I', '-c', PROBE], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) {
        resolve({}); // the run says why its Python cannot start; the lineage just lacks it
        return;
      }
      try {
        const probe = JSON.parse(stdout) as {
          python: string;
          executable: string;
          packages: Record<string, string> | null;
        };
        resolve({
          python: probe.python,
          executable: probe.executable,
          ...(probe.packages ? { packages: sortedKeys(probe.packages) } : {})
        });
      } catch {
        resolve({});
      }
    });
  });
}

function sortedKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The workspace of an earlier run, from its `workspace.json` and the object store, as hard links in
 * `workdir` (a snapshot like one just taken, checked after the run the same way); or the files no longer
 * in the store (a step rewrote them in place, or the store was cleared), and then nothing is linked.
 */
export async function restoreWorkspace(
  manifest: Manifest,
  store: ObjectStore,
  workdir: string
): Promise<{ snapshot: Snapshot } | { missing: string[] }> {
  const entries = Object.entries(manifest.files);
  const objects = new Map<string, { size: number; mtimeMs: number }>();
  const missing: string[] = [];
  for (const [file, hash] of entries) {
    const object = await store.statObject(hash);
    if (object) {
      objects.set(hash, object);
    } else {
      missing.push(file);
    }
  }
  if (missing.length > 0) {
    return { missing };
  }
  await mkdir(workdir, { recursive: true });
  for (const [file, hash] of entries) {
    const target = join(workdir, ...file.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await link(store.path(hash), target);
  }
  return { snapshot: { manifest, copied: 0, bytesCopied: 0, objects } };
}
