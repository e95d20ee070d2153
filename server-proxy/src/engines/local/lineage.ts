/**
 * The local engine's side of a run's lineage (`src/core/runs/lineage.ts`): the content hashes of what a
 * step saved, its inputs' hashes and origins once their providers finished, the Python and packages the
 * steps run on, and a workspace restored from an earlier run's snapshot (`cellpipe run --like`).
 */
import { execFile } from 'child_process';
import { link, mkdir, readFile, stat } from 'fs/promises';
import { writeJsonAtomic } from '../../atomic-file';
import { dirname, join } from 'path';
import { noteReaderInputs, type EnvironmentLineage } from '../../../../src/core/runs/lineage';
import type { RunRecord } from '../../../../src/core/runs/run-record';
import type { Manifest, ObjectStore, Snapshot } from './snapshot';

/**
 * Once a succeeded step's process ended: the content hashes of the values it saved, which its runtime took
 * after the step was done (`hashes.json`; `hash_saved` in cellpipe/runtime.py says how), and the inputs of
 * the steps it feeds, which may have started before they were known. A step restored from the cache has its
 * `hashes.json` back with the rest of its records.
 */
export async function noteStepOutputs(dir: string, record: RunRecord, step: string): Promise<void> {
  const lineage = record.lineage?.steps[step];
  if (!lineage) {
    return;
  }
  let hashes: Record<string, unknown>;
  try {
    hashes = JSON.parse(await readFile(join(dir, 'steps', step, 'hashes.json'), 'utf8')) as typeof hashes;
  } catch {
    return; // a step that saved nothing, or whose hashes could not be taken (its log says why)
  }
  const outputs: Record<string, string> = {};
  for (const name of Object.keys(hashes).sort()) {
    const hash = hashes[name];
    if (typeof hash === 'string') {
      outputs[name] = hash;
    }
  }
  lineage.outputs = outputs;
  noteReaderInputs(record, step);
}

const PROBE = `
import json, os, platform, sys
try:
    from importlib import metadata
    packages = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            packages[name.lower()] = d.version
except Exception:
    packages = None
paths = [p for p in sys.path if os.path.isdir(p)]
print(json.dumps({"python": platform.python_version(), "executable": sys.executable, "packages": packages,
                  "paths": paths}))
`;

/** A probe's answer, and the modification times of what it depends on when it was asked. */
interface ProbedEnvironment {
  environment: EnvironmentLineage;
  /** The executable and each folder of its `sys.path`: installing or removing a distribution changes one. */
  stamps: Record<string, number>;
}

/** This process's answers, by the Python asked (the server asks for every run of a notebook). */
const probed = new Map<string, ProbedEnvironment>();

/**
 * The Python version, its path and its installed packages, as the steps' Python reports them. Asking
 * costs a Python reading every distribution's metadata (0.15-0.2 s of CPU beside the run's first step), so
 * the answer is kept, here and in `cacheFile`, while the executable and its `sys.path` folders are as
 * they were.
 */
export async function pythonEnvironment(python: string, cacheFile?: string): Promise<EnvironmentLineage> {
  const known = probed.get(python) ?? (cacheFile ? (await readCache(cacheFile))[python] : undefined);
  if (known && (await unchanged(known.stamps))) {
    probed.set(python, known);
    return known.environment;
  }
  const answer = await probe(python);
  if (!answer) {
    return {}; // the run says why its Python cannot start; the lineage just lacks it
  }
  const { paths, ...environment } = answer;
  const stamps = await stampsOf([environment.executable ?? python, ...paths]);
  if (stamps) {
    probed.set(python, { environment, stamps });
    if (cacheFile) {
      const cache = { ...(await readCache(cacheFile)), [python]: { environment, stamps } };
      await writeJsonAtomic(cacheFile, cache).catch(() => undefined); // asked again next time
    }
  }
  return environment;
}

function probe(python: string): Promise<(EnvironmentLineage & { paths: string[] }) | null> {
  return new Promise(resolve => {
    execFile(python, ['-I', '-c', PROBE], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) {
        resolve(null);
        return;
      }
      try {
        const answer = JSON.parse(stdout) as {
          python: string;
          executable: string;
          packages: Record<string, string> | null;
          paths: string[];
        };
        resolve({
          python: answer.python,
          executable: answer.executable,
          ...(answer.packages ? { packages: sortedKeys(answer.packages) } : {}),
          paths: answer.paths
        });
      } catch {
        resolve(null);
      }
    });
  });
}

/** Each path's modification time; null when one cannot be read (then nothing is kept). */
async function stampsOf(paths: string[]): Promise<Record<string, number> | null> {
  try {
    return Object.fromEntries(await Promise.all(paths.map(async p => [p, (await stat(p)).mtimeMs] as const)));
  } catch {
    return null;
  }
}

async function unchanged(stamps: Record<string, number>): Promise<boolean> {
  const now = await stampsOf(Object.keys(stamps));
  return now !== null && Object.entries(stamps).every(([path, mtime]) => now[path] === mtime);
}

async function readCache(file: string): Promise<Record<string, ProbedEnvironment>> {
  try {
    const cache: unknown = JSON.parse(await readFile(file, 'utf8'));
    // Anything but an object (a hand-edited or foreign file) is no answer: the Python is asked again.
    return cache && typeof cache === 'object' ? (cache as Record<string, ProbedEnvironment>) : {};
  } catch {
    return {};
  }
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
  return { snapshot: { manifest, copied: 0, bytesCopied: 0, unsettled: [], objects } };
}
