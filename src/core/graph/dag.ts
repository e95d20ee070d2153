/**
 * The step graph: `prev:` edges checked for unknown names and cycles, a
 * topological order, and ancestor sets for the flow rules.
 */
import { Diagnostic, diagnostic } from '../diagnostics';
import type { StepDef } from './steps';

export interface StepGraph {
  /** Step names in a topological order; ties broken by notebook order. */
  order: string[];
  /** Valid upstream steps of each step (unknown names dropped). */
  deps: Map<string, string[]>;
  diagnostics: Diagnostic[];
  /** Whether `ancestor` runs before `step` through a chain of edges. */
  isUpstream(ancestor: string, step: string): boolean;
  /** Whether adding the edge from → to would close a cycle. */
  wouldCycle(from: string, to: string): boolean;
}

export function buildGraph(steps: readonly StepDef[]): StepGraph {
  const diagnostics: Diagnostic[] = [];
  const names = new Set(steps.map(s => s.name));
  const deps = new Map<string, string[]>();
  for (const step of steps) {
    const valid: string[] = [];
    for (const p of step.prev) {
      const where = { cell: step.prevCells[p], step: step.name };
      if (p === step.name) {
        diagnostics.push(
          diagnostic(
            'error',
            'self-dependency',
            `Step "${p}" lists itself in prev:${p}. Remove that tag.`,
            where
          )
        );
      } else if (!names.has(p)) {
        diagnostics.push(
          diagnostic(
            'error',
            'unknown-step',
            `Step "${step.name}" depends on "prev:${p}", but no cell is tagged step:${p}. ` +
              `Fix the name or tag the cell that computes it.`,
            where
          )
        );
      } else {
        valid.push(p);
      }
    }
    deps.set(step.name, valid);
  }

  const { order, blocked } = topologicalOrder(steps, deps);
  const cyclic = blocked.filter(name => reaches(deps, name, name));
  for (const name of cyclic) {
    const step = steps.find(s => s.name === name)!;
    diagnostics.push(
      diagnostic(
        'error',
        'cycle',
        `Step "${name}" is part of a cycle of prev: tags (${cyclic.join(', ')}). ` +
          `A pipeline runs each step once; remove one of the prev: tags.`,
        { cell: step.cells[0] ?? null, step: name }
      )
    );
  }
  // Steps caught behind a cycle still get a place, in notebook order.
  order.push(...blocked);

  // Ancestor sets as bit sets over the steps' positions: a chain of n steps holds n²/2 ancestors, and the
  // flow asks isUpstream for most reads, on every edit.
  const index = new Map(steps.map((s, i) => [s.name, i]));
  const words = (steps.length + 31) >>> 5;
  const ancestors = new Map<string, Uint32Array>();
  const ancestorsOf = (name: string, visiting = new Set<string>()): Uint32Array => {
    const known = ancestors.get(name);
    if (known) {
      return known;
    }
    const result = new Uint32Array(words);
    visiting.add(name);
    for (const p of deps.get(name) ?? []) {
      if (visiting.has(p)) {
        continue; // a cycle, reported above
      }
      const i = index.get(p)!;
      result[i >>> 5] |= 1 << (i & 31);
      const above = ancestorsOf(p, visiting);
      for (let w = 0; w < words; w++) {
        result[w] |= above[w];
      }
    }
    visiting.delete(name);
    ancestors.set(name, result);
    return result;
  };
  for (const step of steps) {
    ancestorsOf(step.name);
  }

  const isUpstream = (a: string, s: string) => {
    const i = index.get(a);
    const set = ancestors.get(s);
    return i !== undefined && set !== undefined && (set[i >>> 5] & (1 << (i & 31))) !== 0;
  };
  return {
    order,
    deps,
    diagnostics,
    isUpstream,
    wouldCycle: (from, to) => from === to || isUpstream(to, from)
  };
}

/** Kahn's algorithm, taking ready steps in notebook order so the result is stable. */
function topologicalOrder(
  steps: readonly StepDef[],
  deps: ReadonlyMap<string, string[]>
): { order: string[]; blocked: string[] } {
  const waiting = new Map(steps.map(s => [s.name, deps.get(s.name)?.length ?? 0]));
  const dependents = new Map<string, string[]>();
  for (const [name, ds] of deps) {
    for (const d of ds) {
      dependents.set(d, [...(dependents.get(d) ?? []), name]);
    }
  }
  const position = new Map(steps.map((s, i) => [s.name, i]));
  const ready = steps.filter(s => waiting.get(s.name) === 0).map(s => s.name);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const next = ready.shift()!;
    order.push(next);
    for (const d of dependents.get(next) ?? []) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) {
        ready.push(d);
      }
    }
  }
  const placed = new Set(order);
  return { order, blocked: steps.map(s => s.name).filter(n => !placed.has(n)) };
}

function reaches(deps: ReadonlyMap<string, string[]>, from: string, target: string): boolean {
  const seen = new Set<string>();
  const stack = [...(deps.get(from) ?? [])];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (name === target) {
      return true;
    }
    if (!seen.has(name)) {
      seen.add(name);
      stack.push(...(deps.get(name) ?? []));
    }
  }
  return false;
}
