/**
 * A `notebook:` step seen from the notebook that holds it: the referenced
 * notebook's pipeline analysed on its own, and what it exchanges with the
 * parent, by name (as in Kale 2.x):
 * - it **reads** every name one of its steps reads and no cell of it defines:
 *   from the parent's steps above it (the last writer, as a top-to-bottom run
 *   of the parent would see it) or the parent's pipeline parameters;
 * - it **provides** every name its steps leave defined, the value of the last
 *   of its steps (in its own notebook order) to write it.
 * The parent's flow treats the notebook step as one cell that reads the first
 * and writes the second (`interfaceAnalysis`), so every rule of the flow, and
 * every diagnostic, applies across the notebook boundary unchanged.
 */
import type { CellAnalysis, FlowEvent, UnserialisableKind } from '../analysis/types';
import { Diagnostic, diagnostic } from '../diagnostics';
import type { StepDef } from '../graph/steps';
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import { NotebookResolver, referencePath } from './references';

/** Where a child step reads a name it does not define. */
export interface ExternalRead {
  step: string;
  cell: number;
  line: number | null;
}

export interface ChildPipeline {
  path: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** Names the child reads from outside, with the first place each is read. */
  needs: Map<string, ExternalRead>;
  /** Per child step, the names it reads from outside. */
  reads: Record<string, string[]>;
  /** Name → the child step whose value the parent gets. */
  provides: Record<string, string>;
  /** The notebook cell as the parent's flow sees it. */
  cellAnalysis: CellAnalysis;
}

export interface NotebookStepInput {
  step: StepDef;
  /** The path of the notebook that holds the cell. */
  from: string;
  /** Paths of the notebooks being composed, outermost first (the holder last). */
  chain: readonly string[];
  resolver: NotebookResolver | undefined;
  analyse: (notebook: NotebookData, path: string, chain: readonly string[]) => PipelineAnalysis;
}

/** The cell analysis of a notebook: cell whose notebook could not be read: it reads and writes nothing. */
export const EMPTY_ANALYSIS: CellAnalysis = { events: [], issues: [] };

export function resolveNotebookStep(input: NotebookStepInput): {
  child: ChildPipeline | null;
  diagnostics: Diagnostic[];
} {
  const { step, from, chain, resolver } = input;
  const cell = step.notebook!.cell;
  const at = { cell, step: step.name };
  const fail = (severity: 'error' | 'info', code: string, message: string) => ({
    child: null,
    diagnostics: [diagnostic(severity, code, message, at)]
  });
  const written = step.notebook!.path;
  if (written === undefined || written.trim() === '') {
    return fail(
      'error',
      'notebook-path-missing',
      `Cell ${cell + 1} is the notebook step ${step.name} but names no notebook: set its notebook_path ` +
        `(the Notebook field of the cellpipe sidebar) to the .ipynb file it runs.`
    );
  }
  const path = referencePath(from, written);
  const cycle = chain.indexOf(path);
  if (cycle >= 0) {
    const loop = [...chain.slice(cycle), path].join(' → ');
    return fail(
      'error',
      'notebook-cycle',
      `Cell ${cell + 1} (notebook step ${step.name}) runs ${path}, which is already running it: ${loop}. ` +
        `A notebook cannot run itself, directly or through other notebooks; remove one of these references.`
    );
  }
  const resolved = resolver?.get(path) ?? { error: 'referenced notebooks are not read here' };
  if ('pending' in resolved) {
    return fail('info', 'notebook-loading', `Reading ${path} for the notebook step ${step.name}…`);
  }
  if ('error' in resolved) {
    return fail(
      'error',
      'notebook-unreadable',
      `Cell ${cell + 1} (notebook step ${step.name}) runs ${path}, which cannot be read: ${resolved.error}. ` +
        `Check its notebook_path ("${written}", relative to this notebook's folder).`
    );
  }
  const analysis = input.analyse(resolved.notebook, path, [...chain, path]);
  const child = childInterface(path, resolved.notebook, analysis);
  return { child, diagnostics: liftDiagnostics(child, step) };
}

/** What the child reads from outside and what it can provide. */
function childInterface(path: string, notebook: NotebookData, analysis: PipelineAnalysis): ChildPipeline {
  const written = new Set<string>();
  for (const a of analysis.analyses.values()) {
    for (const e of a.events) {
      if (e.kind === 'write') {
        written.add(e.name);
      }
      if (e.kind === 'write' && e.deferred) {
        e.deferred.writes.forEach(w => written.add(w.name));
      }
    }
  }
  // The flow reports each name a step reads and no cell defines; read as a notebook step, these come from the parent.
  const needs = new Map<string, ExternalRead>();
  const reads: Record<string, string[]> = {};
  for (const d of analysis.diagnostics) {
    if (d.code === 'undefined-name' && d.name && d.step && !written.has(d.name)) {
      if (!needs.has(d.name)) {
        needs.set(d.name, { step: d.step, cell: d.cell ?? 0, line: d.line });
      }
      reads[d.step] = [...new Set([...(reads[d.step] ?? []), d.name])].sort();
    }
  }

  const stepOfCell = new Map<number, string>();
  for (const s of analysis.steps) {
    s.cells.forEach(c => stepOfCell.set(c, s.name));
  }
  const provides: Record<string, string> = {};
  const kinds = new Map<string, UnserialisableKind | undefined>();
  for (const c of [...stepOfCell.keys()].sort((a, b) => a - b)) {
    for (const e of analysis.analyses.get(c)?.events ?? []) {
      if (e.kind !== 'write') {
        continue;
      }
      if (e.how === 'delete') {
        delete provides[e.name];
      } else {
        provides[e.name] = stepOfCell.get(c)!;
        kinds.set(e.name, e.how === 'bind' ? e.unserialisable : kinds.get(e.name));
      }
    }
  }

  const events: FlowEvent[] = [
    ...[...needs.keys()].sort().map((name): FlowEvent => ({ kind: 'read', name, line: 1, column: 0 })),
    ...Object.keys(provides)
      .sort()
      .map((name): FlowEvent => {
        const kind = kinds.get(name);
        return {
          kind: 'write',
          how: 'bind',
          name,
          line: 1,
          column: 0,
          ...(kind ? { unserialisable: kind } : {})
        };
      })
  ];
  return { path, notebook, analysis, needs, reads, provides, cellAnalysis: { events, issues: [] } };
}

function where(d: Pick<Diagnostic, 'cell' | 'line'>): string {
  return d.cell === null ? '' : `, cell ${d.cell + 1}${d.line !== null ? `, line ${d.line}` : ''}`;
}

/**
 * The child's own errors and warnings, shown at the notebook cell (they stop a run of the parent as they
 * would stop the child's), except the reads the parent answers.
 */
function liftDiagnostics(child: ChildPipeline, step: StepDef): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of child.analysis.diagnostics) {
    if (d.severity === 'info' || (d.code === 'undefined-name' && d.name && child.needs.has(d.name))) {
      continue;
    }
    out.push({
      ...d,
      cell: step.notebook!.cell,
      line: null,
      column: null,
      step: step.name,
      message: `In ${child.path}${where(d)}: ${d.message}`
    });
  }
  if (child.analysis.steps.length === 0) {
    out.push(
      diagnostic(
        'warning',
        'notebook-no-steps',
        `The notebook ${child.path} (notebook step ${step.name}) has no step: tag yet, so this step runs nothing.`,
        { cell: step.notebook!.cell, step: step.name }
      )
    );
  }
  return out;
}

/**
 * Says, on the parent's diagnostics about a name at the notebook cell, which step of the child reads it
 * (the parent's flow only knows the notebook step).
 */
export function explainAtNotebookCell(d: Diagnostic, step: StepDef, child: ChildPipeline): Diagnostic {
  const read = d.name !== undefined ? child.needs.get(d.name) : undefined;
  if (!read || d.cell !== step.notebook?.cell) {
    return d;
  }
  return {
    ...d,
    message: `${d.message} (Read by step ${read.step} of ${child.path}${where({ cell: read.cell, line: read.line })}.)`
  };
}
