/**
 * Cells → steps. Applies Kale's grouping: a tagged cell starts (or continues)
 * a step or a special bucket; an untagged code cell joins whatever is above it;
 * `skip` cells are left out and do not become "the cell above"; untagged cells
 * before the first tag belong to nothing. A `notebook:` cell is a step of its
 * own that holds no code (Kale 2.x): untagged cells below it join the next
 * step, and code with no step below it to join is an error.
 */
import { Diagnostic, diagnostic } from '../diagnostics';
import type { CellData } from '../notebook/model';
import { CellRole, STEP_NAME } from '../tags/grammar';

export type Bucket =
  | { kind: 'step'; step: string }
  | { kind: 'imports' }
  | { kind: 'functions' }
  | { kind: 'pipeline-parameters' }
  | { kind: 'pipeline-metrics' };

export interface StepDef {
  name: string;
  /** Notebook cell indices, in order. */
  cells: number[];
  /** Declared upstream steps (`prev:`), in first-seen order, without duplicates. */
  prev: string[];
  /** Where each `prev:` was declared, for diagnostics. */
  prevCells: Record<string, number>;
  /** A `notebook:` step: its cell and the referenced notebook's path as written (`notebook_path`). */
  notebook?: { cell: number; path: string | undefined };
}

export interface StepGrouping {
  /** Steps in the order of their first cell. */
  steps: StepDef[];
  /** The bucket of each code cell that is part of the pipeline, by cell index. */
  buckets: Map<number, Bucket>;
  /** Cell indices of each special bucket, in order. */
  imports: number[];
  functions: number[];
  parameters: number[];
  metrics: number[];
  /** Steps named twice, code in or orphaned below `notebook:` cells. */
  diagnostics: Diagnostic[];
}

/** A step name from a notebook's file name, for a `notebook:` tag without one. */
export function stepNameOfNotebook(path: string | undefined): string {
  const file = (path ?? '')
    .split('/')
    .pop()!
    .replace(/\.ipynb$/, '');
  const name = file
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return !name ? 'notebook' : STEP_NAME.test(name) ? name : `nb_${name}`;
}

/** Whether a cell holds code (a `notebook:` cell may hold comments, as Kale's panel writes there). */
export function hasCode(source: string): boolean {
  return source.split('\n').some(line => line.trim() !== '' && !line.trim().startsWith('#'));
}

export function groupSteps(cells: readonly CellData[], roles: ReadonlyMap<number, CellRole>): StepGrouping {
  const grouping: StepGrouping = {
    steps: [],
    buckets: new Map(),
    imports: [],
    functions: [],
    parameters: [],
    metrics: [],
    diagnostics: []
  };
  const byName = new Map<string, StepDef>();
  let current: Bucket | null = null;
  /** Untagged cells below a notebook: cell, waiting for the next step. */
  let waiting: CellData[] = [];
  const orphan = () => {
    for (const cell of waiting.filter(c => hasCode(c.source))) {
      grouping.diagnostics.push(
        diagnostic(
          'error',
          'orphan-cell',
          `Cell ${cell.index + 1} has no tag and follows a notebook: step, which holds no code, with no ` +
            `step below it to join; tag it step:NAME (or skip).`,
          { cell: cell.index }
        )
      );
    }
    waiting = [];
  };

  for (const cell of cells) {
    if (cell.type !== 'code') {
      continue;
    }
    const role = roles.get(cell.index) ?? { kind: 'continue' };
    switch (role.kind) {
      case 'skip':
        continue;
      case 'continue':
        if (waiting.length > 0 || (current?.kind === 'step' && byName.get(current.step)?.notebook)) {
          waiting.push(cell);
          continue;
        }
        break;
      case 'step': {
        let step = byName.get(role.name);
        if (step?.notebook) {
          grouping.diagnostics.push(
            diagnostic(
              'error',
              'duplicate-step',
              `"${role.name}" is already the name of the notebook: step in cell ${step.notebook.cell + 1}; ` +
                `give this step another name.`,
              { cell: cell.index, step: role.name }
            )
          );
          current = null;
          orphan();
          continue;
        }
        if (!step) {
          step = { name: role.name, cells: [], prev: [], prevCells: {} };
          byName.set(role.name, step);
          grouping.steps.push(step);
        }
        for (const p of role.prev) {
          if (!step.prev.includes(p)) {
            step.prev.push(p);
            step.prevCells[p] = cell.index;
          }
        }
        current = { kind: 'step', step: role.name };
        // As in Kale, the untagged cells below a notebook: cell belong to the step that follows them.
        for (const held of waiting) {
          grouping.buckets.set(held.index, current);
          step.cells.push(held.index);
        }
        waiting = [];
        break;
      }
      case 'notebook': {
        orphan();
        const name = role.name || stepNameOfNotebook(cell.notebookPath);
        if (byName.has(name)) {
          grouping.diagnostics.push(
            diagnostic(
              'error',
              'duplicate-step',
              `The notebook: step "${name}" has the name of another step (cell ` +
                `${byName.get(name)!.cells[0] + 1}); name it notebook:OTHER_NAME.`,
              { cell: cell.index, step: name }
            )
          );
          current = null;
          continue;
        }
        if (hasCode(cell.source)) {
          grouping.diagnostics.push(
            diagnostic(
              'error',
              'notebook-cell-code',
              `Cell ${cell.index + 1} runs the notebook ${cell.notebookPath ?? '(no notebook_path)'} and also ` +
                `holds code, which would not run; move the code to a cell of its own (comments may stay).`,
              { cell: cell.index, step: name }
            )
          );
        }
        const prevCells = Object.fromEntries(role.prev.map(p => [p, cell.index]));
        const step: StepDef = {
          name,
          cells: [],
          prev: [...role.prev],
          prevCells,
          notebook: { cell: cell.index, path: cell.notebookPath }
        };
        byName.set(name, step);
        grouping.steps.push(step);
        current = { kind: 'step', step: name };
        break;
      }
      default:
        orphan();
        current = { kind: role.kind };
    }
    if (current === null) {
      continue;
    }
    grouping.buckets.set(cell.index, current);
    switch (current.kind) {
      case 'step':
        byName.get(current.step)!.cells.push(cell.index);
        break;
      case 'imports':
        grouping.imports.push(cell.index);
        break;
      case 'functions':
        grouping.functions.push(cell.index);
        break;
      case 'pipeline-parameters':
        grouping.parameters.push(cell.index);
        break;
      case 'pipeline-metrics':
        grouping.metrics.push(cell.index);
        break;
    }
  }
  orphan();
  return grouping;
}
