/**
 * The edges a notebook with `notebook:` steps implies without `prev:` tags,
 * as Kale 2.x orders a composition:
 * - a notebook step runs after the steps whose variables it reads, and a step
 *   that reads what a notebook step provides runs after it (data edges: the
 *   flow's suggestions across a notebook boundary);
 * - reading order: a step of the notebook itself that has no `prev:` tag runs
 *   after everything above it, and a notebook step after the notebook's own
 *   steps above it. Two notebook steps with nothing between them stay
 *   parallel unless data flows between them.
 * A notebook without `notebook:` steps gets none: its `prev:` tags say it all.
 */
import type { EdgeSuggestion } from '../flow/flow';
import type { StepDef } from '../graph/steps';

/** The steps with the implied upstream steps added to `prev` (never closing a cycle). */
export function withCompositionEdges(
  steps: readonly StepDef[],
  suggestions: readonly EdgeSuggestion[]
): StepDef[] {
  if (!steps.some(s => s.notebook)) {
    return [...steps];
  }
  const out = steps.map(s => ({ ...s, prev: [...s.prev], prevCells: { ...s.prevCells } }));
  const byName = new Map(out.map(s => [s.name, s]));
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (name === to) {
        return true;
      }
      if (!seen.has(name)) {
        seen.add(name);
        stack.push(...(byName.get(name)?.prev ?? []).filter(p => byName.has(p)));
      }
    }
    return false;
  };
  const add = (step: StepDef, upstream: string) => {
    if (upstream !== step.name && !step.prev.includes(upstream) && !reaches(upstream, step.name)) {
      step.prev.push(upstream);
      step.prevCells[upstream] = step.notebook?.cell ?? step.cells[0];
    }
  };

  const declared = new Set(out.filter(s => s.prev.length > 0).map(s => s.name));
  for (const s of suggestions) {
    const from = byName.get(s.from);
    const to = byName.get(s.to);
    if (from && to && (from.notebook || to.notebook)) {
      add(to, s.from);
    }
  }
  out.forEach((step, i) => {
    if (declared.has(step.name)) {
      return; // the user said what it waits for
    }
    const above = out.slice(0, i).filter(s => (step.notebook ? !s.notebook : true));
    // Only the latest of them: the others are upstream of those already.
    const latest = above.filter(s => !above.some(o => o !== s && reaches(o.name, s.name)));
    latest.forEach(s => add(step, s.name));
  });
  return out;
}
