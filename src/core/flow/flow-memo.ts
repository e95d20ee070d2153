/**
 * The flow of the last analysis of a notebook, kept so that re-analysing it after an edit replays nothing
 * when the edit cannot change the flow. The result is always the one a full replay would give.
 *
 * An edited step cell leaves the flow as it was when its events are the same as before up to
 * - their places (a line added above them): the replay's places are moved and its messages written again,
 *   which is exact when the events' lines keep their order (the replay compares lines within a cell);
 * - writes of names that nothing else in the notebook mentions (a new line `x = ...` with a new `x`):
 *   such a write has no effect on the flow's result (no read, no parameter, no metric of that name).
 * Any other change of step cells' events replays the notebook from the first changed cell, from the state
 * the last replay had just before it when it kept that (a replay keeps its state before its own first
 * changed cell: a user types in one cell, then the next); else from the top. Anything else (tags, steps,
 * parameters, metrics, the prelude) replays the whole notebook.
 */
import type { CellAnalysis, FlowEvent } from '../analysis/types';
import type { StepDef } from '../graph/steps';
import { FlowCheckpoint, FlowInput, FlowReplay, FlowResult } from './flow';

interface Replayed {
  /** The input of the replay (its analyses are not read: see `analyses`). */
  input: FlowInput;
  /**
   * The analyses whose flow the replay holds: those it ran on, or later ones found to have the same flow
   * (its places moved to theirs).
   */
  analyses: ReadonlyMap<number, CellAnalysis>;
  replay: FlowReplay;
  /** How many of those cells mention each name (made at the first edit after the replay). */
  mentionCounts?: Map<string, number>;
  /** The replay's state before a step cell, while no cell above it has changed since. */
  checkpoint?: FlowCheckpoint;
}

/** Beyond this many edited cells at once, a full replay is as quick as the checks. */
const MAX_EDITED_CELLS = 8;

export class FlowMemo {
  private last: Replayed | undefined;

  flow(input: FlowInput): FlowResult {
    const last = this.last;
    const same = last !== undefined && sameStructure(last.input, input);
    const moves = same && this.moves(last, input);
    if (last && moves) {
      for (const [cell, pairs] of moves) {
        if (last.checkpoint && cell < last.checkpoint.cell) {
          last.checkpoint = undefined; // it lists that cell's places by the cell's old events
        }
        const before = last.analyses.get(cell)!;
        const after = input.analyses.get(cell)!;
        last.replay.reposition(cell, after.events, pairs);
        if (last.mentionCounts) {
          countMentionsOf(last.mentionCounts, before, -1);
          countMentionsOf(last.mentionCounts, after, 1);
        }
      }
      last.analyses = input.analyses;
      return last.replay.render();
    }
    const first = same ? firstChangedStepCell(last, input) : undefined;
    const resume =
      first !== undefined && last?.checkpoint && last.checkpoint.cell <= first ? last.checkpoint : undefined;
    if (last) {
      last.checkpoint = undefined; // resumed once: the replay changes its state
    }
    const replay = new FlowReplay(input, resume).run(first);
    this.last = { input, analyses: input.analyses, replay, checkpoint: replay.checkpoint };
    return replay.render();
  }

  /** For each edited step cell, where its events are now; undefined when the flow may change. */
  private moves(last: Replayed, input: FlowInput): Map<number, Array<[number, number]>> | undefined {
    const { grouping, analyses } = input;
    const edited: number[] = [];
    for (const [cell, bucket] of grouping.buckets) {
      if (bucket.kind === 'pipeline-metrics' || analyses.get(cell) === last.analyses.get(cell)) {
        continue; // the flow reads nothing of a metrics cell's analysis
      }
      if (bucket.kind !== 'step' || edited.length === MAX_EDITED_CELLS) {
        return undefined;
      }
      edited.push(cell);
    }
    const moves = new Map<number, Array<[number, number]>>();
    const elsewhere = new Mentions(input, last, edited);
    for (const cell of edited) {
      const moved = sameFlow(last.analyses.get(cell)!, analyses.get(cell)!, name =>
        elsewhere.has(cell, name)
      );
      if (!moved) {
        return undefined;
      }
      moves.set(cell, moved);
    }
    return moves;
  }
}

/**
 * The first cell whose analysis changed since the last replay, when all the changed cells are step cells (a
 * replay from there sees the same state before it); undefined when the prelude changed or nothing did.
 */
function firstChangedStepCell(last: Replayed, input: FlowInput): number | undefined {
  let first: number | undefined;
  for (const [cell, bucket] of input.grouping.buckets) {
    if (bucket.kind === 'pipeline-metrics' || input.analyses.get(cell) === last.analyses.get(cell)) {
      continue; // the flow reads nothing of a metrics cell's analysis
    }
    if (bucket.kind !== 'step') {
      return undefined;
    }
    first = first === undefined ? cell : Math.min(first, cell);
  }
  return first;
}

/**
 * Whether `after` gives the flow `before` gives, up to places: then each event of `before` that counts
 * paired with its event in `after`. `mentionedElsewhere` says whether a name is mentioned outside this cell.
 */
function sameFlow(
  before: CellAnalysis,
  after: CellAnalysis,
  mentionedElsewhere: (name: string) => boolean
): Array<[number, number]> | undefined {
  if (issueFlags(before) !== issueFlags(after) || !sameReads(before, after)) {
    return undefined;
  }
  const old = counting(before, mentionedElsewhere);
  const now = counting(after, mentionedElsewhere);
  if (old.length !== now.length) {
    return undefined;
  }
  const pairs: Array<[number, number]> = [];
  const oldRanks = lineRanks(old.map(i => before.events[i].line));
  const nowRanks = lineRanks(now.map(i => after.events[i].line));
  for (let k = 0; k < old.length; k++) {
    const a = before.events[old[k]];
    const b = after.events[now[k]];
    if (oldRanks[k] !== nowRanks[k] || eventKey(a) !== eventKey(b)) {
      return undefined;
    }
    pairs.push([old[k], now[k]]);
  }
  return pairs;
}

/**
 * Whether both have the same reads in the same order, their places aside: reads always count, so this is
 * a necessary condition, checked before `counting` (which needs the notebook's mentions, counted once per
 * replay, most of the time of an edit that adds a read).
 */
function sameReads(before: CellAnalysis, after: CellAnalysis): boolean {
  const old = before.events.filter(e => e.kind === 'read');
  const now = after.events.filter(e => e.kind === 'read');
  return old.length === now.length && old.every((e, i) => eventKey(e) === eventKey(now[i]));
}

/** The flow reads a cell's issues for star imports and dynamic namespace access only. */
function issueFlags(analysis: CellAnalysis): string {
  const has = (code: string) => analysis.issues.some(i => i.code === code);
  return `${has('star-import')}:${has('dynamic-namespace')}`;
}

/**
 * The indices of the events that count: all but writes of a name mentioned nowhere else (not by another
 * event of the cell, another cell, a parameter or a metric).
 */
function counting(analysis: CellAnalysis, mentionedElsewhere: (name: string) => boolean): number[] {
  const inCell = new Map<string, number>();
  for (const event of analysis.events) {
    for (const name of mentions(event)) {
      inCell.set(name, (inCell.get(name) ?? 0) + 1);
    }
  }
  const out: number[] = [];
  analysis.events.forEach((event, i) => {
    const inert = event.kind === 'write' && inCell.get(event.name) === 1 && !mentionedElsewhere(event.name);
    if (!inert) {
      out.push(i);
    }
  });
  return out;
}

/** Each line's rank among the distinct lines: equal ranks, equal comparisons between lines. */
function lineRanks(lines: number[]): number[] {
  const distinct = [...new Set(lines)].sort((a, b) => a - b);
  const rank = new Map(distinct.map((line, i) => [line, i]));
  return lines.map(line => rank.get(line)!);
}

const eventKeys = new WeakMap<FlowEvent, string>();

/** An event without its place (places inside a function's body are not read by the flow). */
function eventKey(event: FlowEvent): string {
  let key = eventKeys.get(event);
  if (key === undefined) {
    key = JSON.stringify(event, (k, value: unknown) => (k === 'line' || k === 'column' ? undefined : value));
    eventKeys.set(event, key);
  }
  return key;
}

/** Every name an event mentions: its own, its call's arguments, what it holds or aliases, its body's globals. */
function mentions(event: FlowEvent): string[] {
  const names = [event.name];
  if (event.kind === 'read') {
    addCall(names, event.call);
    return names;
  }
  names.push(...(event.holds ?? []).map(h => h.name));
  if (event.aliasOf) {
    names.push(event.aliasOf);
  }
  for (const r of event.deferred?.reads ?? []) {
    names.push(r.name);
    addCall(names, r.call);
  }
  names.push(...(event.deferred?.writes ?? []).map(w => w.name));
  return names;
}

function addCall(
  names: string[],
  call: { args?: Array<string | null>; keywords?: Record<string, string> } | undefined
) {
  for (const arg of call?.args ?? []) {
    if (arg !== null) {
      names.push(arg);
    }
  }
  names.push(...Object.values(call?.keywords ?? {}));
}

const mentionSets = new WeakMap<CellAnalysis, Set<string>>();

/** The names a cell's analysis mentions (cached: analyses are shared by every notebook with the cell). */
function mentionSet(analysis: CellAnalysis): Set<string> {
  let set = mentionSets.get(analysis);
  if (!set) {
    set = new Set(analysis.events.flatMap(mentions));
    mentionSets.set(analysis, set);
  }
  return set;
}

/**
 * Which names the notebook mentions outside a given cell, before and after the edit: the cells other than
 * the edited ones are the replayed cells.
 */
class Mentions {
  private readonly fixed: Set<string>;

  constructor(
    private readonly input: FlowInput,
    private readonly last: Replayed,
    private readonly edited: readonly number[]
  ) {
    this.fixed = new Set([...input.parameters, ...input.metrics.map(m => m.name)]);
  }

  /** Counted when first asked: an edit whose reads changed never asks. */
  private get counts(): Map<string, number> {
    return (this.last.mentionCounts ??= countMentions(this.last.analyses, this.input));
  }

  has(cell: number, name: string): boolean {
    if (this.fixed.has(name)) {
      return true;
    }
    const before = this.last.analyses.get(cell);
    const own = before && mentionSet(before).has(name) ? 1 : 0;
    if ((this.counts.get(name) ?? 0) > own) {
      return true;
    }
    return this.edited.some(index => index !== cell && mentionSet(this.input.analyses.get(index)!).has(name));
  }
}

/** Per name, how many cells mention it (the metrics cells' analyses are not part of the flow). */
function countMentions(analyses: ReadonlyMap<number, CellAnalysis>, input: FlowInput): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [index, analysis] of analyses) {
    if (input.grouping.buckets.get(index)?.kind !== 'pipeline-metrics') {
      countMentionsOf(counts, analysis, 1);
    }
  }
  return counts;
}

function countMentionsOf(counts: Map<string, number>, analysis: CellAnalysis, by: 1 | -1): void {
  for (const name of mentionSet(analysis)) {
    counts.set(name, (counts.get(name) ?? 0) + by);
  }
}

/** Whether the flow reads the same of both inputs besides the cells' analyses: steps, buckets, parameters, metrics. */
function sameStructure(a: FlowInput, b: FlowInput): boolean {
  if (
    a.isBuiltin !== b.isBuiltin ||
    !sameList(a.grouping.imports, b.grouping.imports) ||
    !sameList(a.grouping.functions, b.grouping.functions) ||
    !sameList([...a.parameters], [...b.parameters]) ||
    !sameList(a.graph.order, b.graph.order) ||
    a.metrics.length !== b.metrics.length ||
    a.metrics.some(
      (m, i) => m.name !== b.metrics[i].name || m.cell !== b.metrics[i].cell || m.line !== b.metrics[i].line
    ) ||
    a.grouping.steps.length !== b.grouping.steps.length ||
    a.grouping.buckets.size !== b.grouping.buckets.size
  ) {
    return false;
  }
  const sameStep = (s: StepDef, t: StepDef) =>
    s.name === t.name &&
    sameList(s.cells, t.cells) &&
    sameList(a.graph.deps.get(s.name) ?? [], b.graph.deps.get(t.name) ?? []) &&
    s.notebook?.cell === t.notebook?.cell &&
    s.notebook?.path === t.notebook?.path;
  if (!a.grouping.steps.every((s, i) => sameStep(s, b.grouping.steps[i]))) {
    return false;
  }
  for (const [cell, bucket] of a.grouping.buckets) {
    const other = b.grouping.buckets.get(cell);
    if (
      !other ||
      other.kind !== bucket.kind ||
      (bucket.kind === 'step' && other.kind === 'step' && bucket.step !== other.step)
    ) {
      return false;
    }
  }
  return true;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
