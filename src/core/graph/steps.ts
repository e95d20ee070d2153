/**
 * Cells → steps. Applies Kale's grouping: a tagged cell starts (or continues)
 * a step or a special bucket; an untagged code cell joins whatever is above it;
 * `skip` cells are left out and do not become "the cell above"; untagged cells
 * before the first tag belong to nothing.
 */
import type { CellData } from '../notebook/model';
import type { CellRole } from '../tags/grammar';

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
}

export function groupSteps(cells: readonly CellData[], roles: ReadonlyMap<number, CellRole>): StepGrouping {
  const grouping: StepGrouping = {
    steps: [],
    buckets: new Map(),
    imports: [],
    functions: [],
    parameters: [],
    metrics: []
  };
  const byName = new Map<string, StepDef>();
  let current: Bucket | null = null;

  for (const cell of cells) {
    if (cell.type !== 'code') {
      continue;
    }
    const role = roles.get(cell.index) ?? { kind: 'continue' };
    switch (role.kind) {
      case 'skip':
        continue;
      case 'continue':
        break;
      case 'step': {
        let step = byName.get(role.name);
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
        break;
      }
      default:
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
  return grouping;
}
