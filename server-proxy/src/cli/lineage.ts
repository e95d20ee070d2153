/**
 * `cellpipe runs --show RUN` (a run's lineage) and `cellpipe diff RUN_A RUN_B` (what changed between two
 * runs: code, parameters, data, environment). The lineage and the diff are the core's; this reads runs.
 */
import { readFile } from 'fs/promises';
import { basename, join, resolve } from 'path';
import { ChangeKind, diffLineage, lineageLines } from '../../../src/core/runs/lineage';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { formatParameter } from '../../../src/core/tags/parameters';
import { readRun, runDir, runsDir } from '../runs/run-store';
import { UsageError } from './pipeline-input';
import { lastSeen } from './run-printer';
import { closeOrphans } from './close-orphans';

/**
 * `readClusterRunOnce`, loaded only when a cluster run is read: the cluster clients (the AWS SDK, the
 * Kubernetes client) are most of the bundle, and `cellpipe run` of a local run would load them for nothing.
 */
const readClusterRunOnce = async (dir: string, record: RunRecord): Promise<RunRecord> =>
  (await import('./runs')).readClusterRunOnce(dir, record);

/**
 * A run by id: of the notebook given, else of the notebook in the current folder whose runs folder has it
 * (notebooks in one folder share it).
 */
export async function findRun(id: string, notebook?: string): Promise<RunRecord> {
  return (await locateRun(id, notebook)).record;
}

/** `findRun`, with the path of the notebook whose runs folder has it. */
async function locateRun(id: string, notebook?: string): Promise<{ record: RunRecord; path: string }> {
  const guess = resolve(notebook ?? 'notebook.ipynb');
  let path = guess;
  if (!notebook) {
    try {
      const raw = JSON.parse(await readFile(join(runDir(guess, id) ?? '', 'run.json'), 'utf8')) as RunRecord;
      path = resolve(basename(raw.notebook));
    } catch {
      // not here: said below
    }
  }
  const record = await readRun(path, id);
  if (!record) {
    throw new UsageError(
      `no run ${id} in ${runsDir(path)}` +
        (notebook ? ` for ${notebook}` : "; run this from the notebook's folder or pass --notebook")
    );
  }
  return { record, path };
}

export async function showCommand(
  id: string,
  options: { notebook?: string; json?: boolean }
): Promise<number> {
  const { path, ...found } = await locateRun(id, options.notebook);
  let record = found.record;
  if (record.orphan && record.cluster) {
    // No process follows it: its state from the cluster first, as `cellpipe runs` brings it up to date.
    await closeOrphans(path, { run: id, refollow: readClusterRunOnce }).catch(() => undefined);
    record = (await readRun(path, id)) ?? record;
  }
  if (options.json) {
    process.stdout.write(JSON.stringify(record, null, 2) + '\n');
    return 0;
  }
  const seconds = record.finished ? (Date.parse(record.finished) - Date.parse(record.started)) / 1000 : null;
  const out = [
    `run ${record.id} of ${basename(record.notebook)}: ${record.status}` +
      `${seconds === null ? '' : ` in ${seconds.toFixed(1)} s`}, started ${record.started}, ${record.target ?? 'local'}` +
      (record.cluster && record.status === 'running' ? ` (${lastSeen(record)})` : ''),
    ...Object.entries(record.parameters).map(([n, p]) => `parameter ${n} = ${formatParameter(p)}`),
    ...Object.entries(record.metrics).map(([n, v]) => `metric ${n} = ${JSON.stringify(v)}`),
    ...lineageLines(record)
  ];
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

const HEADINGS: Record<ChangeKind, string> = {
  steps: 'Steps',
  code: 'Code',
  parameters: 'Parameters',
  data: 'Data',
  environment: 'Environment'
};

export async function diffCommand(
  a: string,
  b: string,
  options: { notebook?: string; json?: boolean }
): Promise<number> {
  const [ra, rb] = [await findRun(a, options.notebook), await findRun(b, options.notebook)];
  const [filesA, filesB] = await Promise.all([workspaceFiles(ra), workspaceFiles(rb)]);
  const changes = diffLineage(ra, rb, { filesA, filesB });
  if (options.json) {
    process.stdout.write(JSON.stringify({ from: ra.id, to: rb.id, changes }, null, 2) + '\n');
    return 0;
  }
  const out = [`from run ${ra.id} to run ${rb.id}:`];
  if (!ra.lineage || !rb.lineage) {
    out.push(
      `  run ${!ra.lineage ? ra.id : rb.id} has no lineage (made by an earlier cellpipe): ` +
        'only its parameters and workspace are compared'
    );
  }
  if (changes.length === 0) {
    out.push('  nothing changed: same code, parameters, data and environment');
  }
  for (const kind of Object.keys(HEADINGS) as ChangeKind[]) {
    const of = changes.filter(c => c.kind === kind);
    if (of.length > 0) {
      out.push(`${HEADINGS[kind]}:`, ...of.map(c => `  ${c.text}`));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** A local run's workspace files (path → hash), from its `workspace.json`. */
async function workspaceFiles(record: RunRecord): Promise<Record<string, string> | undefined> {
  try {
    const dir = runDir(record.notebook, record.id)!;
    return (
      JSON.parse(await readFile(join(dir, 'workspace.json'), 'utf8')) as { files: Record<string, string> }
    ).files;
  } catch {
    return undefined;
  }
}
