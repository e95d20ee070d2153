/**
 * The steps a run executes: the notebook's steps with each `notebook:` step
 * replaced by the steps of the notebook it runs (recursively), named
 * `NOTEBOOK_STEP.STEP` (a `.` never occurs in a step name, so these names
 * cannot collide). Every target runs these: the local engine as processes,
 * KFP and Argo as tasks grouped in one sub-DAG per notebook step.
 *
 * Across a notebook boundary:
 * - upstream: the sub-pipeline's first steps wait for the notebook step's
 *   upstream steps; a step waiting for a notebook step waits for the
 *   sub-pipeline's last steps;
 * - data: a child step reading a name from the parent loads it from the
 *   parent's provider; a parent step reading what the notebook step provides
 *   loads it from the child step that last wrote it (which saves it);
 * - parameters: by name (see `SubPipeline.passed`); a run's parameter values
 *   reach a sub-pipeline step only through names passed down at every level.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis, PipelineStep, SubPipeline } from '../pipeline';
import type { ParameterValue } from '../tags/parameters';

export interface RunnableStep {
  /** Unique in the run: the step's name, prefixed by the notebook steps it is in (`train.fit`). */
  name: string;
  /** The qualified names of the notebook steps it is in, outermost first (`['a', 'a.b']` for `a.b.fit`). */
  scope: string[];
  /** The step in its own notebook's analysis. */
  step: PipelineStep;
  analysis: PipelineAnalysis;
  notebook: NotebookData;
  /** The path of its notebook when it is in a sub-pipeline. */
  path?: string;
  /** Runnable steps that must finish first. */
  deps: string[];
  /** Each input → the runnable step it is loaded from. */
  sources: Record<string, string>;
  /** The names it saves, sorted. */
  outs: string[];
  /** The parameters it gets, with the values of its notebook (or passed down). */
  parameters: Record<string, ParameterValue>;
  /** Which of them a run of the top notebook sets (names passed down all the way). */
  runParameters: string[];
  /** The metrics it records. */
  metrics: string[];
  /**
   * The imports and functions cells of the notebooks that run it, outermost first: run before its own,
   * as a top-to-bottom run of them would have (its cells may use the names they define).
   */
  outerPrelude: Array<{ cell: number; source: string }>;
}

interface Level {
  analysis: PipelineAnalysis;
  notebook: NotebookData;
  /** The sub-pipeline this level is (absent at the top). */
  sub?: SubPipeline;
  prefix: string;
  scope: string[];
  /** For its first steps: what the enclosing notebook step waits for (runnable names). */
  upstream: string[];
  /** Names read from the enclosing notebook → their runnable provider. */
  external: Record<string, string>;
  parameters: Record<string, ParameterValue>;
  runParameters: string[];
  /** Names the enclosing notebook reads from this level: saved by the step here that provides them. */
  exported: Set<string>;
  /** Metrics the enclosing notebook records with values from this level. */
  exportedMetrics: Set<string>;
  outerPrelude: RunnableStep['outerPrelude'];
}

/** What a runnable step is without the notebooks (what the graph draws). */
export type RunnableStructure = Omit<RunnableStep, 'notebook'>;

/** The runnable steps of a pipeline, in an order that runs each after its upstream steps. */
export function runnableSteps(analysis: PipelineAnalysis): RunnableStructure[];
export function runnableSteps(analysis: PipelineAnalysis, notebook: NotebookData): RunnableStep[];
export function runnableSteps(analysis: PipelineAnalysis, notebook?: NotebookData): RunnableStructure[] {
  const out: RunnableStep[] = [];
  flatten(
    {
      analysis,
      // Only the top notebook's own steps refer to it; without it, its structure is all that is asked for.
      notebook: notebook ?? { cells: [], metadata: {} },
      prefix: '',
      scope: [],
      upstream: [],
      external: {},
      parameters: analysis.parameters,
      runParameters: Object.keys(analysis.parameters),
      exported: new Set(),
      exportedMetrics: new Set(),
      outerPrelude: []
    },
    out
  );
  return notebook ? out : out.map(({ notebook: _unused, ...structure }) => structure);
}

type Place = Pick<Level, 'analysis' | 'prefix'>;

/** The runnable step that a step of this level stands for as the provider of `name`. */
function providerOf(level: Place, step: string, name: string): string {
  const sub = level.analysis.subPipelines[step];
  if (!sub) {
    return level.prefix + step;
  }
  return providerOf({ analysis: sub.analysis, prefix: `${level.prefix}${step}.` }, sub.provides[name], name);
}

/**
 * What waiting for a step of a notebook (`prefix` + its name being how runnable steps are named there)
 * means: waiting for it, or for its sub-pipeline's last steps.
 */
export function lastSteps(level: Place, step: string): string[] {
  const sub = level.analysis.subPipelines[step];
  if (!sub) {
    return [level.prefix + step];
  }
  const inner = { analysis: sub.analysis, prefix: `${level.prefix}${step}.` };
  const waitedFor = new Set(sub.analysis.steps.flatMap(s => s.deps));
  return sub.analysis.steps.filter(s => !waitedFor.has(s.name)).flatMap(s => lastSteps(inner, s.name));
}

function flatten(level: Level, out: RunnableStep[]): void {
  const { analysis, prefix, sub } = level;
  const byName = new Map(analysis.steps.map(s => [s.name, s]));
  /** Names this level hands to the enclosing notebook that `step` provides. */
  const handedUp = (names: Set<string>, step: string) => [...names].filter(n => sub?.provides[n] === step);
  const ownPrelude = new Set(analysis.prelude.map(cell => level.notebook.cells[cell]?.source));
  for (const name of analysis.order) {
    const step = byName.get(name)!;
    const qualified = prefix + name;
    const resolvedDeps = [...new Set(step.deps.flatMap(d => lastSteps(level, d)))];
    const deps = step.deps.length > 0 ? resolvedDeps : level.upstream;
    const sources: Record<string, string> = Object.fromEntries(
      step.ins.map(i => [i, providerOf(level, step.sources[i], i)])
    );
    const ownMetrics = analysis.metrics.filter(m => m.step === name).map(m => m.name);
    if (step.notebook !== undefined) {
      const child = analysis.subPipelines[name];
      if (child) {
        flatten(
          {
            analysis: child.analysis,
            notebook: child.notebook,
            sub: child,
            prefix: `${qualified}.`,
            scope: [...level.scope, qualified],
            upstream: deps,
            external: sources,
            parameters: child.parameters,
            runParameters: child.passed.filter(p => level.runParameters.includes(p)),
            exported: new Set([...step.outs, ...handedUp(level.exported, name)]),
            exportedMetrics: new Set([...ownMetrics, ...handedUp(level.exportedMetrics, name)]),
            outerPrelude: [
              ...level.outerPrelude,
              ...analysis.prelude.map(cell => ({ cell, source: level.notebook.cells[cell]?.source ?? '' }))
            ]
          },
          out
        );
      } // else it could not be read: the analysis has an error, and nothing runs
      continue;
    }
    for (const read of sub?.reads[name] ?? []) {
      if (read in level.external) {
        sources[read] = level.external[read];
      }
    }
    out.push({
      name: qualified,
      scope: level.scope,
      step,
      analysis,
      notebook: level.notebook,
      ...(sub ? { path: sub.path } : {}),
      deps,
      sources: sortKeys(sources),
      outs: [...new Set([...step.outs, ...handedUp(level.exported, name)])].sort(),
      parameters: level.parameters,
      runParameters: level.runParameters,
      metrics: [...new Set([...ownMetrics, ...handedUp(level.exportedMetrics, name)])],
      // A cell its own notebook has too (the same imports, typically) runs once.
      outerPrelude: level.outerPrelude.filter(p => !ownPrelude.has(p.source))
    });
  }
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The runnable steps a step name selects (`--step`, Run this step): the step, or every step of a
 * notebook step's sub-pipeline. Empty when the pipeline has no such step.
 */
export function selectSteps(steps: readonly RunnableStep[], name: string): string[] {
  return steps.filter(s => s.name === name || s.name.startsWith(`${name}.`)).map(s => s.name);
}

/** The steps a selection needs: the selected ones and every step above them. */
export function neededSteps(steps: readonly RunnableStep[], only: readonly string[]): Set<string> {
  const deps = new Map(steps.map(s => [s.name, s.deps]));
  const needed = new Set<string>();
  const visit = (step: string) => {
    if (!needed.has(step)) {
      needed.add(step);
      (deps.get(step) ?? []).forEach(visit);
    }
  };
  only.forEach(visit);
  return needed;
}

/** The steps a name selects and every step below them, in run order. */
export function stepAndDownstream(steps: readonly RunnableStep[], name: string): string[] {
  const below = new Set(selectSteps(steps, name));
  for (const step of steps) {
    if (step.deps.some(d => below.has(d))) {
      below.add(step.name);
    }
  }
  return steps.filter(s => below.has(s.name)).map(s => s.name);
}
