/**
 * A run's lineage: what each step ran with (its program's hash, the parameter values it read, each input's
 * content hash and the run and step that produced it, the hashes of what it saved, its image on a cluster),
 * the workspace it saw (the local snapshot's content hash, or the VolumeSnapshots of a cluster run) and the
 * environment (Python and package versions of a local run). Recorded in run.json by the engines; shown by
 * `cellpipe runs --show` and the run view; `diffLineage` says what changed between two runs. Pure.
 */
import type { RunRecord } from './run-record';
import { relativePath } from '../composition/references';
import type { RunnableStep } from '../targets/runnable-steps';
import { formatParameter, ParameterValue } from '../tags/parameters';

export interface InputLineage {
  /** The step of this run that provided it. */
  step: string;
  /** The run that computed it: this run, or the earlier run a cached provider's result comes from. */
  run?: string;
  /** Content hash of the value's files (SHA-256), once its provider finished (local runs). */
  hash?: string;
}

export interface StepLineage {
  /** SHA-256 of the step program (its cells, the runtime and how it is wired). */
  program: string;
  /** The parameter values the step reads. */
  parameters: Record<string, ParameterValue>;
  inputs: Record<string, InputLineage>;
  /** Name → content hash of each value the step saved, once it succeeded. */
  outputs?: Record<string, string>;
  /** Cluster runs: the image the step ran on (by digest: pinned, else as its pod ran it). */
  image?: string;
  /**
   * A sub-pipeline step: the notebook whose cells it runs, relative to the run's notebook's folder (its
   * error's cell and line are in that notebook).
   */
  notebook?: string;
}

export interface WorkspaceLineage {
  /** Local runs: the content hash of the notebook's folder as the steps saw it. */
  hash?: string;
  /** Cluster runs: the VolumeSnapshot each workspace volume was restored from (none: mounted as it was). */
  snapshots?: Array<{ claim: string; snapshot?: string }>;
}

export interface EnvironmentLineage {
  /** Local runs: the Python version the steps ran on, and its path. */
  python?: string;
  executable?: string;
  /** Local runs: installed distributions, lower-case name → version. */
  packages?: Record<string, string>;
}

export interface RunLineage {
  steps: Record<string, StepLineage>;
  workspace: WorkspaceLineage;
  environment: EnvironmentLineage;
  /** `--like RUN`: the run whose parameters (and workspace, when still there) this one took. */
  like?: string;
}

export type ChangeKind = 'steps' | 'code' | 'parameters' | 'data' | 'environment';

export interface LineageChange {
  kind: ChangeKind;
  /** The step it concerns; absent for the run as a whole (workspace, environment). */
  step?: string;
  /** One line a person reads: `train: parameter n_trees 50 → 100`. */
  text: string;
}

/**
 * What the lineage functions read of a run: its id, steps and lineage; for a run recorded without lineage,
 * its parameters and workspace hash (the frontend's run view passes just the first three).
 */
export type LineageOf = Pick<RunRecord, 'id' | 'order' | 'lineage'> &
  Partial<Pick<RunRecord, 'parameters' | 'workspace'>>;

/** Optional detail for the diff: the workspace files (path → hash) of each run. */
export interface DiffDetail {
  filesA?: Record<string, string>;
  filesB?: Record<string, string>;
}

const KIND_ORDER: ChangeKind[] = ['steps', 'code', 'parameters', 'data', 'environment'];

/** What changed from run `a` to run `b`, grouped as code, parameters, data and environment. */
export function diffLineage(a: LineageOf, b: LineageOf, detail: DiffDetail = {}): LineageChange[] {
  const changes: LineageChange[] = [];
  const la = a.lineage;
  const lb = b.lineage;
  const add = (kind: ChangeKind, text: string, step?: string) =>
    changes.push({ kind, text: step ? `${step}: ${text}` : text, ...(step ? { step } : {}) });

  for (const step of b.order.filter(s => !a.order.includes(s))) {
    add('steps', `step ${step} is new`);
  }
  for (const step of a.order.filter(s => !b.order.includes(s))) {
    add('steps', `step ${step} is gone`);
  }
  if (!la || !lb) {
    // A run made before lineage was recorded: what its record says (the run's parameters, its workspace).
    const [pa, pb] = [a.parameters ?? {}, b.parameters ?? {}];
    for (const name of union(Object.keys(pa), Object.keys(pb))) {
      const ta = pa[name] ? formatParameter(pa[name]) : '(not set)';
      const tb = pb[name] ? formatParameter(pb[name]) : '(not set)';
      if (ta !== tb) {
        add('parameters', `parameter ${name} ${ta} → ${tb}`);
      }
    }
    diffWorkspace({ hash: a.workspace }, { hash: b.workspace }, detail, add);
    return changes.sort((x, y) => KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind));
  }
  const shared = b.order.filter(s => a.order.includes(s));
  for (const step of shared) {
    const sa = la?.steps[step];
    const sb = lb?.steps[step];
    if (!sa || !sb) {
      continue;
    }
    if (sa.program !== sb.program) {
      add('code', 'the step program changed (its cells, or what it receives)', step);
    }
    for (const name of union(Object.keys(sa.parameters), Object.keys(sb.parameters))) {
      const pa = sa.parameters[name];
      const pb = sb.parameters[name];
      const ta = pa ? formatParameter(pa) : '(not read)';
      const tb = pb ? formatParameter(pb) : '(not read)';
      if (ta !== tb) {
        add('parameters', `parameter ${name} ${ta} → ${tb}`, step);
      }
    }
    for (const name of union(Object.keys(sa.inputs), Object.keys(sb.inputs))) {
      const ia = sa.inputs[name];
      const ib = sb.inputs[name];
      if (!ia || !ib) {
        add('data', ia ? `no longer reads ${name}` : `now reads ${name} (from ${ib.step})`, step);
      } else if (ia.step !== ib.step) {
        add('data', `input ${name} comes from ${ib.step}, was ${ia.step}`, step);
      } else if (ia.hash && ib.hash && ia.hash !== ib.hash) {
        add('data', `input ${name} (from ${ib.step}) changed: ${short(ia.hash)} → ${short(ib.hash)}`, step);
      }
    }
    if (sa.image !== sb.image && (sa.image || sb.image)) {
      add('environment', `image ${sa.image ?? '(none)'} → ${sb.image ?? '(none)'}`, step);
    }
  }
  diffWorkspace(la?.workspace, lb?.workspace, detail, add);
  diffEnvironment(la?.environment, lb?.environment, add);
  return changes.sort((x, y) => KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind));
}

function diffWorkspace(
  wa: WorkspaceLineage | undefined,
  wb: WorkspaceLineage | undefined,
  detail: DiffDetail,
  add: (kind: ChangeKind, text: string) => void
): void {
  if (wa?.hash && wb?.hash && wa.hash !== wb.hash) {
    const { filesA, filesB } = detail;
    if (filesA && filesB) {
      const names = union(Object.keys(filesA), Object.keys(filesB)).sort();
      const changed = names.filter(n => filesA[n] !== filesB[n]);
      const what = changed.map(n => (!filesA[n] ? `${n} (new)` : !filesB[n] ? `${n} (gone)` : n));
      add('data', `workspace files changed: ${list(what)}`);
    } else {
      add('data', `workspace changed: ${short(wa.hash)} → ${short(wb.hash)}`);
    }
  }
  const sa = (wa?.snapshots ?? []).map(s => `${s.claim}@${s.snapshot ?? 'mounted'}`).join(', ');
  const sb = (wb?.snapshots ?? []).map(s => `${s.claim}@${s.snapshot ?? 'mounted'}`).join(', ');
  if (sa !== sb && (sa || sb)) {
    add('data', `workspace volumes ${sa || '(none)'} → ${sb || '(none)'}`);
  }
}

function diffEnvironment(
  ea: EnvironmentLineage | undefined,
  eb: EnvironmentLineage | undefined,
  add: (kind: ChangeKind, text: string) => void
): void {
  if (ea?.python && eb?.python && ea.python !== eb.python) {
    add('environment', `Python ${ea.python} → ${eb.python}`);
  }
  if (ea?.executable && eb?.executable && ea.executable !== eb.executable) {
    add('environment', `Python at ${ea.executable} → ${eb.executable}`);
  }
  const pa = ea?.packages;
  const pb = eb?.packages;
  if (pa && pb) {
    for (const name of union(Object.keys(pa), Object.keys(pb)).sort()) {
      if (pa[name] !== pb[name]) {
        add(
          'environment',
          !pa[name]
            ? `package ${name} ${pb[name]} added`
            : !pb[name]
              ? `package ${name} ${pa[name]} removed`
              : `package ${name} ${pa[name]} → ${pb[name]}`
        );
      }
    }
  }
}

/** The lines of `cellpipe runs --show` (and the run view): the run's lineage, step by step. */
export function lineageLines(record: LineageOf): string[] {
  const lineage = record.lineage;
  if (!lineage) {
    return ['No lineage recorded (the run was made by an earlier cellpipe).'];
  }
  const lines: string[] = [];
  if (lineage.like) {
    lines.push(`Like run ${lineage.like}`);
  }
  const ws = lineage.workspace;
  if (ws.hash) {
    lines.push(`Workspace: ${short(ws.hash)} (content hash of the notebook's folder)`);
  }
  for (const s of ws.snapshots ?? []) {
    lines.push(
      `Workspace volume ${s.claim}: ${s.snapshot ? `VolumeSnapshot ${s.snapshot}` : 'mounted as it was'}`
    );
  }
  const env = lineage.environment;
  if (env.python) {
    const count = Object.keys(env.packages ?? {}).length;
    lines.push(`Python ${env.python}${env.executable ? ` (${env.executable})` : ''}, ${count} packages`);
  }
  for (const step of record.order) {
    const s = lineage.steps[step];
    if (!s) {
      continue;
    }
    lines.push(`${step}: program ${short(s.program)}${s.image ? `, image ${s.image}` : ''}`);
    for (const [name, p] of Object.entries(s.parameters)) {
      lines.push(`  parameter ${name} = ${formatParameter(p)}`);
    }
    for (const [name, input] of Object.entries(s.inputs)) {
      const from = `${input.step}${input.run && input.run !== record.id ? ` of run ${input.run}` : ''}`;
      lines.push(`  input ${name} from ${from}${input.hash ? ` (${short(input.hash)})` : ''}`);
    }
    for (const [name, hash] of Object.entries(s.outputs ?? {})) {
      lines.push(`  output ${name} (${short(hash)})`);
    }
  }
  return lines;
}

/**
 * The `notebook` of a step's lineage: for a sub-pipeline step, the notebook its cells are in, relative to
 * the folder of the run's notebook (at `runPath`, as the resolver names both); nothing for its own steps.
 */
export function stepNotebook(
  runPath: string,
  step: Pick<RunnableStep, 'path'>
): Pick<StepLineage, 'notebook'> {
  return step.path ? { notebook: relativePath(runPath, step.path) } : {};
}

/**
 * Before a step starts (local runs) or once its providers finished (cluster runs): each input's hash and
 * the run that computed it, from its provider's record (a cached provider's `cachedFrom`).
 */
export function noteStepInputs(record: RunRecord, step: string): void {
  for (const [name, input] of Object.entries(record.lineage?.steps[step]?.inputs ?? {})) {
    noteInput(record, name, input);
  }
}

/**
 * Once `provider`'s output hashes are known (a cluster step finished; a local step's process ended, after
 * the steps below may have started): the inputs it feeds, and only those; what the other steps read has
 * not changed.
 */
export function noteReaderInputs(record: RunRecord, provider: string): void {
  for (const step of Object.values(record.lineage?.steps ?? {})) {
    for (const [name, input] of Object.entries(step.inputs)) {
      if (input.step === provider) {
        noteInput(record, name, input);
      }
    }
  }
}

/** One input's run (a cached provider's `cachedFrom`) and hash (what its provider saved under that name). */
function noteInput(record: RunRecord, name: string, input: InputLineage): void {
  input.run = record.steps[input.step]?.cachedFrom ?? record.id;
  const hash = record.lineage?.steps[input.step]?.outputs?.[name];
  if (hash) {
    input.hash = hash;
  }
}

/** runtime.py's LINEAGE_LINE: the last line of a cluster step that succeeded, the hashes of what it saved. */
const LINEAGE_LINE = 'cellpipe-lineage: ';

/** A cluster step's log without its lineage line, and the hashes that line gives (name → hash). */
export function splitLineageLine(log: string): { text: string; outputs?: Record<string, string> } {
  const lines = log.split('\n');
  const at = lines.map(l => l.startsWith(LINEAGE_LINE)).lastIndexOf(true);
  if (at < 0) {
    return { text: log };
  }
  let outputs: Record<string, string> | undefined;
  try {
    const parsed = JSON.parse(lines[at].slice(LINEAGE_LINE.length)) as { outputs?: unknown };
    const given = parsed.outputs;
    if (given && typeof given === 'object' && Object.values(given).every(h => typeof h === 'string')) {
      outputs = given as Record<string, string>;
    }
  } catch {
    // a line cut short: no hashes, the log as it is
    return { text: log };
  }
  lines.splice(at, 1);
  // The empty line written before it, so that it starts a line of its own.
  if (at > 0 && lines[at - 1] === '') {
    lines.splice(at - 1, 1);
  }
  return { text: lines.join('\n'), outputs };
}

/** The first 12 hex digits of a hash (a `sha256:` prefix dropped): enough to tell runs apart by eye. */
export function short(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

function list(items: string[], max = 10): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
