/**
 * Variable flow between steps (design rules 4–7).
 *
 * The cells of the pipeline are replayed in notebook order, which is what a
 * top-to-bottom run of the notebook does. Each read of a name that its step has
 * not bound yet is resolved to the last writer before it; the pipeline passes
 * that value only when the writer's step is upstream. Every place where the
 * pipeline would see a different value than the notebook becomes a diagnostic.
 */
import { historyMessage, historyReach } from './output-history';
import type {
  CallInfo,
  CellAnalysis,
  Deferred,
  FlowEvent,
  Hold,
  OwnState,
  UnserialisableKind,
  WriteHow
} from '../analysis/types';
import { randomCall, RandomLibrary, RANDOM_LIBRARY_NAMES } from './random-state';
import { Diagnostic, diagnostic } from '../diagnostics';
import type { StepGraph } from '../graph/dag';
import type { StepGrouping } from '../graph/steps';

export interface MetricRef {
  name: string;
  cell: number;
  line: number;
}

export interface FlowInput {
  grouping: StepGrouping;
  graph: StepGraph;
  /** Analysis of every code cell that belongs to the pipeline, by cell index. */
  analyses: ReadonlyMap<number, CellAnalysis>;
  parameters: ReadonlySet<string>;
  metrics: readonly MetricRef[];
  isBuiltin: (name: string) => boolean;
}

export interface StepFlow {
  /** Names the step loads, sorted. */
  ins: string[];
  /** Names the step saves because a step below reads them, sorted. */
  outs: string[];
  /** For each input, the step that provides it. */
  sources: Record<string, string>;
  /**
   * The pipeline parameters the step reads, sorted: directly, through the functions it calls
   * (transitively), or as a metric it records; every parameter when it reaches into the namespace
   * dynamically (`globals()`, `eval`), which the analysis cannot see through. The only ones its program
   * gets and its cache key holds; read them with `stepParameters`.
   */
  parameters: string[];
  /** Inputs the step may change by a method call and passes on: the runtime saves them again only if changed. */
  fingerprint: string[];
  /**
   * Inputs whose change by this step would be lost to a step that reads them after it in notebook order
   * (outside its downstream): the run fails if it happens.
   */
  guards: Guard[];
}

export interface Guard {
  name: string;
  /** What the step reports when it did change the value. */
  message: string;
}

export interface MetricFlow {
  name: string;
  /** The step that records the metric (its provider). */
  step: string | null;
  cell: number;
  line: number;
}

/** An edge the data flow needs and the tags lack: add `prev:from` to step `to`. */
export interface EdgeSuggestion {
  from: string;
  to: string;
  names: string[];
  /** Cell of `to` that would carry the new tag (its first cell). */
  cell: number;
}

export interface FlowResult {
  steps: Map<string, StepFlow>;
  metrics: MetricFlow[];
  suggestions: EdgeSuggestion[];
  diagnostics: Diagnostic[];
}

/**
 * Where an event is in its cell. Shared by every site and write made from the event, so that an edit that
 * only moves the cell's events (lines added above them) updates them in one place (see `reposition`).
 */
interface Place {
  line: number;
  column: number;
}

interface Write {
  step: string | null;
  cell: number;
  at: Place;
  how: WriteHow;
  deferred?: Deferred;
  unserialisable?: UnserialisableKind;
  /** Names the written value may hold, until write() turns them into deferred effects. */
  holds?: Hold[];
  /** The name whose object the bound value is part of (`items = data['items']`): changing it changes that. */
  aliasOf?: string;
  /** Bound by an import: a module (or a module's member), never a value the pipeline passes. */
  module?: string;
  /** Bound by a `def`, `class` or `lambda`: calling it changes nothing of its own. */
  defines?: boolean;
}

interface Site {
  step: string;
  cell: number;
  at: Place;
  /** The function whose call caused this read or write, if any (always present: one object shape). */
  via: string | undefined;
}

/** A change in place made through a name bound to (part of) another name's value in an earlier step. */
interface SharedChange {
  part: string;
  site: Site;
  boundBy: string;
}

/** What the replay knows of one name, looked up once per event (the replay is the hot path of an edit). */
interface NameState {
  /** Every write by a step, in notebook order. */
  writes: Write[];
  /** The binding of the imports and functions cells: present in every step (rule 5). */
  shared: Write | undefined;
  /**
   * A change in place made through another name bound to (part of) this one's value in an earlier step
   * (`y = x` in one step, `y.append(3)` in a later one): the steps received them as separate copies.
   */
  change: SharedChange | undefined;
  /** The last use (a call, or a read of the function) of the state a function keeps between calls. */
  stateUse: Site | undefined;
}

/** A guard whose message is written when the result is rendered (it names places). */
interface PendingGuard {
  name: string;
  message: () => string;
}

interface Provision {
  name: string;
  writer: Write;
  consumer: Site;
}

const UNSERIALISABLE: Record<UnserialisableKind, string> = {
  file: 'an open file',
  generator: 'a generator',
  lock: 'a lock',
  connection: 'a connection',
  thread: 'a thread',
  module: 'a module'
};

export function computeFlow(input: FlowInput): FlowResult {
  return new FlowReplay(input).run().render();
}

/**
 * The replay's state just before a step cell: replaying the notebook from that cell on, from this state,
 * gives what a full replay gives as long as nothing the replay read before the cell changed (see FlowMemo).
 * A checkpoint is resumed once: the replay resumed from it changes its state.
 */
export interface FlowCheckpoint {
  readonly cell: number;
  readonly state: ReplayState;
}

/** Everything a replay changes as it goes through the cells (the rest is made by `finish`). */
interface ReplayState {
  names: Map<string, NameState>;
  available: Map<string, Map<string, Write>>;
  provisions: Provision[];
  metricFlows: MetricFlow[];
  renders: Array<() => Diagnostic>;
  reported: Set<string>;
  cellsBefore: { cell: number; step: string | null }[];
  places: Map<number, Place[]>;
  guards: Map<string, Map<string, PendingGuard>>;
  randomLast: Map<RandomLibrary, { step: string | null; cell: number; at: Place }>;
  parameterReads: Map<string, Set<string>>;
  suggestionNames: Map<string, Set<string>>;
  undefinedReads: Array<{ name: string; site: Site }>;
}

/**
 * A copy that the replay can go on changing without changing `state`: the containers are copied, what
 * they hold is shared (writes, sites, provisions and diagnostics are never changed once made; places are
 * moved only by `reposition`, and FlowMemo drops a checkpoint whose cells were repositioned).
 */
function copyState(state: ReplayState): ReplayState {
  const names = new Map<string, NameState>();
  for (const [name, known] of state.names) {
    names.set(name, { ...known, writes: [...known.writes] });
  }
  return {
    names,
    available: copyNested(state.available, inner => new Map(inner)),
    provisions: [...state.provisions],
    metricFlows: [...state.metricFlows],
    renders: [...state.renders],
    reported: new Set(state.reported),
    cellsBefore: [...state.cellsBefore],
    places: new Map(state.places),
    guards: copyNested(state.guards, inner => new Map(inner)),
    randomLast: new Map(state.randomLast),
    parameterReads: copyNested(state.parameterReads, inner => new Set(inner)),
    suggestionNames: copyNested(state.suggestionNames, inner => new Set(inner)),
    undefinedReads: [...state.undefinedReads]
  };
}

function copyNested<K, V>(map: ReadonlyMap<K, V>, copy: (inner: V) => V): Map<K, V> {
  const out = new Map<K, V>();
  for (const [key, inner] of map) {
    out.set(key, copy(inner));
  }
  return out;
}

/**
 * One replay of a notebook's flow, kept so that an edit that changes no event of the flow but their places
 * can be answered by moving the places and rendering again (`FlowMemo`).
 */
export class FlowReplay {
  private taken: FlowCheckpoint | undefined;

  /**
   * With `resume`, the replay starts at its cell from its state (the prelude's bindings included), which it
   * takes over: a checkpoint is resumed once (the replay keeps its own, see `run`).
   */
  constructor(
    private readonly input: FlowInput,
    readonly resume?: FlowCheckpoint
  ) {
    if (resume) {
      // ReplayState's keys are this class's fields of the same name (`state()` reads them back, typed).
      Object.assign(this, resume.state);
    }
  }

  /** Replays the cells (from the checkpoint's, if resumed), keeping a checkpoint before `checkpointAt`. */
  run(checkpointAt?: number): this {
    const { grouping } = this.input;
    if (!this.resume) {
      this.collectShared();
    }
    this.hasStarImport = this.starImported();
    const metricsByCell = new Map<number, MetricRef[]>();
    for (const m of this.input.metrics) {
      metricsByCell.set(m.cell, [...(metricsByCell.get(m.cell) ?? []), m]);
    }
    const from = this.resume?.cell ?? -Infinity;
    const cells = [...grouping.buckets.keys()].filter(cell => cell >= from).sort((a, b) => a - b);
    for (const cell of cells) {
      const bucket = grouping.buckets.get(cell)!;
      if (bucket.kind === 'step') {
        if (cell === checkpointAt) {
          this.taken = { cell, state: copyState(this.state()) };
        }
        this.replayCell(bucket.step, cell);
        this.cellsBefore.push({ cell, step: bucket.step });
        continue;
      }
      this.cellsBefore.push({ cell, step: null });
      if (bucket.kind === 'pipeline-metrics') {
        for (const m of metricsByCell.get(cell) ?? []) {
          this.resolveMetric(m);
        }
      }
    }
    this.finish();
    return this;
  }

  /** The checkpoint `run` kept, if it reached the cell asked for. */
  get checkpoint(): FlowCheckpoint | undefined {
    return this.taken;
  }

  private state(): ReplayState {
    return {
      names: this.names,
      available: this.available,
      provisions: this.provisions,
      metricFlows: this.metricFlows,
      renders: this.renders,
      reported: this.reported,
      cellsBefore: this.cellsBefore,
      places: this.places,
      guards: this.guards,
      randomLast: this.randomLast,
      parameterReads: this.parameterReads,
      suggestionNames: this.suggestionNames,
      undefinedReads: this.undefinedReads
    };
  }

  /**
   * The events of a step cell are now `events`, with the same flow: `pairs` says which event of the
   * replayed ones each counting event is (see FlowMemo); its places move to where the event now is.
   */
  reposition(cell: number, events: readonly FlowEvent[], pairs: ReadonlyArray<[number, number]>): void {
    const places = this.places.get(cell) ?? [];
    const moved: Place[] = [];
    for (const [from, to] of pairs) {
      const place = places[from];
      if (place) {
        place.line = events[to].line;
        place.column = events[to].column;
        moved[to] = place;
      }
    }
    this.places.set(cell, moved);
  }

  /** The result, its messages written from the places as they are now. */
  render(): FlowResult {
    const steps = new Map<string, StepFlow>();
    for (const [name, flow] of this.stepFlows) {
      steps.set(name, {
        ...flow,
        ins: [...flow.ins],
        outs: [...flow.outs],
        sources: { ...flow.sources },
        parameters: [...flow.parameters],
        fingerprint: [...flow.fingerprint],
        guards: (this.stepGuards.get(name) ?? []).map(g => ({ name: g.name, message: g.message() }))
      });
    }
    return {
      steps,
      metrics: this.metricFlows.map(m => ({ ...m })),
      suggestions: this.suggestions.map(s => ({ ...s, names: [...s.names] })),
      diagnostics: this.renders.map(make => make())
    };
  }

  // --- state -------------------------------------------------------------

  /** Per name: its writes, its prelude binding, a change through a shared value. */
  private readonly names = new Map<string, NameState>();
  /** Per step: names available in it, with the write whose value they hold. */
  private readonly available = new Map<string, Map<string, Write>>();
  /** The step whose cells are replayed and its map of `available` (cells of a step mostly come together). */
  private currentStep: string | undefined;
  private currentState = new Map<string, Write>();
  private readonly provisions: Provision[] = [];
  private readonly metricFlows: MetricFlow[] = [];
  /** The diagnostics, in the order found, each written when the result is rendered. */
  private readonly renders: Array<() => Diagnostic> = [];
  private readonly reported = new Set<string>();
  /** The code cells replayed so far and their steps, for IPython's output history (`_`). */
  private readonly cellsBefore: { cell: number; step: string | null }[] = [];
  /** Per step cell, the place of each of its events (by index), made when the event is replayed. */
  private readonly places = new Map<number, Place[]>();
  private readonly stepFlows = new Map<string, StepFlow>();
  private readonly stepGuards = new Map<string, PendingGuard[]>();
  private suggestions: EdgeSuggestion[] = [];
  private readonly suggestionNames = new Map<string, Set<string>>();
  private readonly undefinedReads: Array<{ name: string; site: Site }> = [];
  private readonly guards = new Map<string, Map<string, PendingGuard>>();
  /** Per library, the last explicit seed or draw of its global random generator, in notebook order. */
  private readonly randomLast = new Map<RandomLibrary, { step: string | null; cell: number; at: Place }>();
  /** Per step: the pipeline parameters it reads. */
  private readonly parameterReads = new Map<string, Set<string>>();
  private hasStarImport = false;

  private collectShared(): void {
    const { grouping, analyses } = this.input;
    for (const cell of [...grouping.imports, ...grouping.functions]) {
      for (const event of analyses.get(cell)?.events ?? []) {
        if (event.kind === 'write' && event.how !== 'mutate' && event.how !== 'maybe') {
          this.nameState(event.name).shared = toWrite(event, null, cell, placeOf(event));
        } else if (event.kind === 'read' && event.call) {
          const binding = this.names.get(event.name)?.shared;
          for (const library of randomCall(binding?.module, event.call.attr)?.libraries ?? []) {
            this.randomLast.set(library, { step: null, cell, at: placeOf(event) });
          }
        }
      }
    }
  }

  /** Whether a cell of the pipeline star-imports (any cell: it decides how undefined names are reported). */
  private starImported(): boolean {
    const { grouping, analyses } = this.input;
    for (const [cell, analysis] of analyses) {
      if (analysis.issues.some(i => i.code === 'star-import')) {
        const bucket = grouping.buckets.get(cell);
        if (bucket && bucket.kind !== 'pipeline-metrics') {
          return true;
        }
      }
    }
    return false;
  }

  private nameState(name: string): NameState {
    let state = this.names.get(name);
    if (!state) {
      state = { writes: [], shared: undefined, change: undefined, stateUse: undefined };
      this.names.set(name, state);
    }
    return state;
  }

  private lastWrite(name: string): Write | undefined {
    return lastOf(this.names.get(name)?.writes);
  }

  /** Every write of `name` by a step, in notebook order. */
  private writesOf(name: string): readonly Write[] {
    return this.names.get(name)?.writes ?? [];
  }

  private stepState(step: string): Map<string, Write> {
    if (step === this.currentStep) {
      return this.currentState;
    }
    let state = this.available.get(step);
    if (!state) {
      state = new Map();
      this.available.set(step, state);
    }
    this.currentStep = step;
    this.currentState = state;
    return state;
  }

  private once(key: string, make: () => Diagnostic): void {
    if (!this.reported.has(key)) {
      this.reported.add(key);
      this.renders.push(make);
    }
  }

  // --- replay ------------------------------------------------------------

  private replayCell(step: string, cell: number): void {
    const events = this.input.analyses.get(cell)?.events ?? [];
    const places: Place[] = [];
    this.places.set(cell, places);
    for (const event of events) {
      const at = placeOf(event);
      places.push(at);
      if (
        event.kind === 'write' &&
        event.how === 'maybe' &&
        this.binding(event.name, step)?.module !== undefined
      ) {
        continue; // a call into a module (`np.arange(3)`, most method calls): library state, see write()
      }
      const site: Site = { step, cell, at, via: undefined };
      if (event.kind === 'read') {
        this.read(event.name, site, undefined, event.call);
      } else {
        this.write(event.name, toWrite(event, step, cell, at), site);
      }
    }
  }

  private read(name: string, site: Site, expanding?: Set<string>, call?: CallInfo): void {
    const known = this.names.get(name);
    if (known?.change) {
      this.reportSharedChange(name, known.change, site);
    }
    const state = this.stepState(site.step);
    const held = state.get(name);
    const last = lastOf(known?.writes);
    if (held) {
      if (last && last.step !== site.step && last !== held) {
        if (last.how === 'maybe') {
          this.guard(last, name, site);
        } else {
          this.reportInterleaved(name, site, held, last);
        }
      }
    } else {
      this.resolveInput(name, site, last, known);
    }
    // The binding after resolving (which makes it available only when there is a last write).
    const binding = held ?? (last ? (state.get(name) ?? last) : known?.shared);
    if (binding?.deferred && binding.how !== 'delete') {
      if (binding.deferred.ownState) {
        this.useOwnState(name, binding, binding.deferred.ownState, site);
      }
      this.expandCall(name, binding.deferred, site, expanding, call);
    }
    if (call && binding?.module !== undefined) {
      this.randomState(name, binding.module, site, call);
    } else if (
      call &&
      call.attr === undefined &&
      binding?.step &&
      binding.how !== 'delete' &&
      !binding.defines
    ) {
      // Calling a value that is not a definition (a closure a factory made, a partial, an object with
      // __call__) may change it (its closure's cells, its attributes): a maybe write, checked at run time.
      this.write(name, { step: site.step, cell: site.cell, at: site.at, how: 'maybe' }, site);
    }
  }

  /** The binding a name has at this point of the step: its own, the last write, or the prelude's. */
  private binding(name: string, step: string): Write | undefined {
    const known = this.names.get(name);
    return this.stepState(step).get(name) ?? lastOf(known?.writes) ?? known?.shared;
  }

  /** Rule 4: using a function runs its body, so its global reads and writes happen here. */
  private expandCall(
    name: string,
    deferred: Deferred,
    site: Site,
    expanding?: Set<string>,
    call?: CallInfo
  ): void {
    if (expanding?.has(name)) {
      return;
    }
    // Allocated only for calls: most reads are of plain values.
    const seen = expanding ?? new Set<string>();
    seen.add(name);
    // One site for every effect of the body: sites are never changed once made.
    const inside: Site = { step: site.step, cell: site.cell, at: site.at, via: site.via ?? name };
    for (const r of deferred.reads) {
      this.read(r.name, inside, seen, r.call && innerCall(r.call, deferred, call));
    }
    const at = { step: site.step, cell: site.cell, at: site.at };
    for (const w of deferred.writes) {
      this.write(w.name, { ...at, how: w.how }, inside);
    }
    // A parameter the body changes in place is the caller's argument.
    if (call && deferred.mutates && deferred.params) {
      for (const m of deferred.mutates) {
        const index = deferred.params.indexOf(m.param);
        const arg = call.keywords?.[m.param] ?? (index >= 0 ? call.args?.[index] : undefined);
        if (arg && !seen.has(arg)) {
          // The arguments are evaluated before the body runs: the step loads the value it then changes.
          if (!this.stepState(site.step).has(arg)) {
            const known = this.names.get(arg);
            this.resolveInput(arg, site, lastOf(known?.writes), known);
          }
          this.write(arg, { ...at, how: m.how }, inside);
        }
      }
    }
    seen.delete(name);
  }

  /**
   * An explicit seed or draw of a library's global random generator. The pipeline carries the generators
   * from each step to the steps below it; a draw is wrong when the last seed or draw before it in notebook
   * order was made by a step that is not upstream (two branches drawing in parallel).
   */
  private randomState(name: string, module: string, site: Site, call: CallInfo): void {
    const found = randomCall(module, call.attr);
    if (!found) {
      return;
    }
    for (const library of found.libraries) {
      const last = this.randomLast.get(library);
      if (
        found.kind === 'draw' &&
        last?.step &&
        last.step !== site.step &&
        !this.input.graph.isUpstream(last.step, site.step)
      ) {
        const other = last.step;
        this.once(`random:${site.step}:${library}`, () =>
          diagnostic(
            'warning',
            'random-state-order',
            `Step ${site.step} draws from ${RANDOM_LIBRARY_NAMES[library]}'s global random generator, which step ` +
              `${other} advanced before it in the notebook (cell ${last.cell + 1}, line ${last.at.line}); ` +
              `${other} is not upstream of ${site.step}, so the two draw in parallel and ${site.step} (and ` +
              `the steps below it) get other numbers than the notebook. Add prev:${other} to ` +
              `${site.step}, seed again in ${site.step}, or draw from a generator variable passed between steps.`,
            { ...where(site), name }
          )
        );
      }
      this.randomLast.set(library, { step: site.step, cell: site.cell, at: site.at });
    }
  }

  /**
   * A function that keeps state between its calls, used in one step after another step used it: a step
   * receives a function as the step that wrote it saved it (an empty cache; its defaults as they were
   * then), so what the other step's calls left in it is not there, as it is in the notebook.
   */
  private useOwnState(name: string, binding: Write, kind: OwnState, site: Site): void {
    const known = this.nameState(name);
    const before = known.stateUse;
    known.stateUse = site;
    if (!before || before.step === site.step || (kind === 'default' && before.step === binding.step)) {
      return;
    }
    const from = binding.step ? `step ${binding.step}` : 'the imports and functions cells';
    const what =
      kind === 'cache'
        ? [
            'the results its functools cache keeps',
            `a step receives "${name}" with an empty cache, so it computes them again with the values it sees ` +
              'now. Call it in one step, or leave the cache out if its results depend on other values'
          ]
        : [
            'its mutable default argument, which the body changes',
            `the pipeline gives step ${site.step} "${name}" with the default as ${from} left it. Pass the ` +
              'value as an argument (default None), or keep the calls in one step'
          ];
    this.once(`own-state:${site.step}:${name}`, () =>
      diagnostic(
        'warning',
        'function-state',
        `Step ${site.step} uses "${name}"${viaText(site)}, which keeps state between calls (${what[0]}), after ` +
          `step ${before.step} called it (cell ${before.cell + 1}, line ${before.at.line}): in the notebook this ` +
          `call sees what that one left, but ${what[1]}.`,
        { ...where(site), name }
      )
    );
  }

  /** A maybe-writer whose change, if it makes one, a later reader would not see: the runtime checks it. */
  private guard(writer: Write, name: string, reader: Site): void {
    const step = writer.step!;
    const byName = this.guards.get(step) ?? new Map<string, PendingGuard>();
    this.guards.set(step, byName);
    if (byName.has(name)) {
      return;
    }
    byName.set(name, {
      name,
      message: () =>
        `Step ${step} changed "${name}" (cell ${writer.cell + 1}, line ${writer.at.line}, a method call), and ` +
        `step ${reader.step} reads it after that in the notebook (cell ${reader.cell + 1}, line ${reader.at.line}) ` +
        `but is not downstream of ${step}, so the pipeline would give it the value from before the change. ` +
        `Add prev:${step} to step ${reader.step}.`
    });
  }

  private resolveInput(
    name: string,
    site: Site,
    last: Write | undefined,
    known: NameState | undefined
  ): void {
    const { graph, parameters, isBuiltin } = this.input;
    if (!last) {
      const shared = known?.shared !== undefined;
      if (parameters.has(name) && !shared) {
        this.readParameter(site.step, name);
      } else if (!shared && !isBuiltin(name)) {
        this.undefinedReads.push({ name, site });
      } else if (!shared && site.via === undefined) {
        this.checkHistory(name, site);
      }
      return;
    }
    if (last.how === 'maybe' && last.step && !graph.isUpstream(last.step, site.step)) {
      // A method call that may have changed the value: if it did not, the latest upstream version is the
      // notebook's. The step that made the call checks at run time that it did not (a guard).
      const fallback = this.fallbackWriter(name, site);
      if (fallback) {
        this.guard(last, name, site);
        this.provide(name, fallback, site);
        return;
      }
      const definite = [...this.writesOf(name)].reverse().find(w => w.how !== 'maybe');
      if (!definite) {
        return;
      }
      last = definite;
    }
    if (last.how === 'delete') {
      this.once(`deleted:${site.step}:${name}`, () =>
        diagnostic(
          'error',
          'deleted-name',
          `"${name}" is deleted in cell ${last.cell + 1} (step ${last.step}) before step ${site.step} reads it` +
            `${viaText(site)}; the notebook would fail here too. Remove the del or read "${name}" before it.`,
          { ...where(site), name }
        )
      );
      return;
    }
    const writerStep = last.step!;
    if (graph.isUpstream(writerStep, site.step)) {
      this.provide(name, last, site);
      return;
    }
    const fallback = this.fallbackWriter(name, site);
    this.suggestEdge(writerStep, site.step, name);
    const fix = graph.wouldCycle(writerStep, site.step)
      ? `Step ${writerStep} already depends on ${site.step}, so reorder the cells or rename the variable.`
      : `Add prev:${writerStep} to step ${site.step}.`;
    if (fallback) {
      this.once(`missing:${site.step}:${name}`, () =>
        diagnostic(
          'warning',
          'missing-upstream',
          `Step ${site.step} reads "${name}"${viaText(site)}, last written by step ${writerStep} ` +
            `(cell ${last.cell + 1}), which is not upstream of it; the pipeline would use the value from ` +
            `step ${fallback.step} instead. ${fix}`,
          { ...where(site), name }
        )
      );
      this.provide(name, fallback, site);
    } else {
      this.once(`missing:${site.step}:${name}`, () =>
        diagnostic(
          'error',
          'missing-upstream',
          `Step ${site.step} reads "${name}"${viaText(site)}, written by step ${writerStep} ` +
            `(cell ${last.cell + 1}), which is not upstream of it. ${fix}`,
          { ...where(site), name }
        )
      );
    }
  }

  /** The latest write of `name` by an upstream step, before the read. */
  private fallbackWriter(name: string, site: Site): Write | undefined {
    const writes = this.writesOf(name);
    for (let i = writes.length - 1; i >= 0; i--) {
      const w = writes[i];
      if (w.step !== null && this.input.graph.isUpstream(w.step, site.step)) {
        return w.how === 'delete' ? undefined : w;
      }
    }
    return undefined;
  }

  private provide(name: string, writer: Write, site: Site): void {
    this.stepState(site.step).set(name, writer);
    this.provisions.push({ name, writer, consumer: site });
  }

  private write(name: string, w: Write, site: Site, changing?: Set<string>): void {
    const known = this.nameState(name);
    if (w.how === 'maybe' || w.how === 'mutate') {
      const previous = this.stepState(site.step).get(name) ?? lastOf(known.writes) ?? known.shared;
      if (!previous && this.input.isBuiltin(name)) {
        return; // `float.fromhex(...)`: a builtin is never passed
      }
      // Changing a value bound in this step from part of another changes that one too.
      const alias = previous?.step === site.step ? previous.aliasOf : undefined;
      if (w.how === 'mutate' && previous?.aliasOf && previous.step && previous.step !== site.step) {
        this.noteSharedChange(name, previous, site);
      }
      if (alias && !(changing ?? new Set<string>()).has(alias)) {
        const seen = changing ?? new Set<string>([name]);
        seen.add(alias);
        this.write(
          alias,
          { ...w, how: 'maybe', holds: undefined, deferred: undefined, aliasOf: undefined },
          site,
          seen
        );
      }
      if (previous?.module !== undefined) {
        if (w.how === 'maybe') {
          return; // a call into a module: library state, which the runtime carries from step to step
        }
        w.module = previous.module;
      }
      w.deferred = mergeDeferred(
        previous?.how === 'delete' ? undefined : previous?.deferred,
        this.held(w.holds, site.step)
      );
      // A file written to (`f.write(...)`) is still a file: changing a value keeps what kind it is.
      w.unserialisable ??= previous?.how === 'delete' ? undefined : previous?.unserialisable;
    } else if (w.holds) {
      w.deferred = mergeDeferred(w.deferred, this.held(w.holds, site.step));
    }
    w.holds = undefined;
    if (this.input.parameters.has(name) && w.how !== 'mutate') {
      this.once(`param:${site.step}:${name}`, () =>
        diagnostic(
          'warning',
          'parameter-reassigned',
          `Step ${site.step} reassigns the pipeline parameter "${name}"${viaText(site)}; steps below it ` +
            `get this value, not the one set for the run. Use a new name to keep the parameter.`,
          { ...where(site), name }
        )
      );
    }
    if (w.how === 'bind' || w.how === 'delete') {
      known.change = undefined;
      known.stateUse = undefined;
    }
    if (w.how === 'delete') {
      this.stepState(site.step).delete(name);
    } else {
      this.stepState(site.step).set(name, w);
    }
    known.writes.push(w);
  }

  /** `part` was bound to (part of) the value of `whole` by another step, and this step changes it in place. */
  private noteSharedChange(part: string, binding: Write, site: Site): void {
    const whole = binding.aliasOf!;
    const known = this.nameState(whole);
    const latest = lastOf(known.writes) ?? known.shared;
    // `whole` bound again after `part` was taken from it: in the notebook too they no longer share.
    if (
      !latest ||
      latest.cell > binding.cell ||
      (latest.cell === binding.cell && latest.at.line > binding.at.line)
    ) {
      return;
    }
    known.change = { part, site, boundBy: binding.step! };
  }

  private reportSharedChange(whole: string, change: SharedChange, reader: Site): void {
    const { part, site } = change;
    this.once(`shared:${site.step}:${part}:${whole}`, () =>
      diagnostic(
        'warning',
        'shared-value',
        `Step ${site.step} changes "${part}" in place${viaText(site)}, which step ${change.boundBy} bound to ` +
          `(part of) "${whole}": in the notebook "${whole}" changes with it, but the pipeline passes the two ` +
          `as separate copies, so step ${reader.step} (cell ${reader.cell + 1}, line ${reader.at.line}) reads ` +
          `"${whole}" as it was before. Change "${whole}" itself in step ${site.step}, or copy it where ` +
          `"${part}" is bound if the two should not share.`,
        { ...where(site), name: part }
      )
    );
  }

  /** The deferred effects of what a value holds: functions, classes' instances, functions' closures. */
  private held(holds: Hold[] | undefined, step: string): Deferred | undefined {
    let merged: Deferred | undefined;
    for (const h of holds ?? []) {
      const binding = this.binding(h.name, step);
      const deferred = binding?.how === 'delete' ? undefined : binding?.deferred;
      if (deferred && (!h.called || deferred.makesCallables)) {
        merged = mergeDeferred(merged, deferred);
      }
    }
    return merged;
  }

  private reportInterleaved(name: string, site: Site, held: Write, last: Write): void {
    this.once(`interleaved:${site.step}:${name}`, () =>
      diagnostic(
        'error',
        'ambiguous-writer',
        `In the notebook, step ${last.step} changes "${name}" in cell ${last.cell + 1}, between cells of ` +
          `step ${site.step}; in the pipeline step ${site.step} runs its cells together, so cell ` +
          `${site.cell + 1} would see the value from cell ${held.cell + 1}. Keep the cells of a step ` +
          `together or use different names.`,
        { ...where(site), name }
      )
    );
  }

  private readParameter(step: string, name: string): void {
    const reads = this.parameterReads.get(step);
    if (reads) {
      reads.add(name);
    } else {
      this.parameterReads.set(step, new Set([name]));
    }
  }

  private resolveMetric(metric: MetricRef): void {
    const site = { cell: metric.cell, line: metric.line, column: 0 };
    const last = this.lastWrite(metric.name);
    if (last && last.how !== 'delete') {
      this.metricFlows.push({ ...metric, step: last.step });
      this.provisions.push({
        name: metric.name,
        writer: last,
        consumer: { step: '', cell: metric.cell, at: { line: metric.line, column: 0 }, via: undefined }
      });
    } else if (!last && this.input.parameters.has(metric.name)) {
      // Every step can have the parameters; the last step records them.
      const order = this.input.graph.order;
      const last = order[order.length - 1] ?? null;
      this.metricFlows.push({ ...metric, step: last });
      if (last !== null) {
        this.readParameter(last, metric.name);
      }
    } else {
      this.renders.push(() =>
        diagnostic(
          'error',
          'undefined-metric',
          last
            ? `Metric "${metric.name}" is deleted in cell ${last.cell + 1} before the pipeline-metrics cell.`
            : `Metric "${metric.name}" is not computed by any step above the pipeline-metrics cell.`,
          { ...site, name: metric.name }
        )
      );
    }
  }

  private suggestEdge(from: string, to: string, name: string): void {
    if (this.input.graph.wouldCycle(from, to)) {
      return;
    }
    const key = `${from}\u0000${to}`;
    const names = this.suggestionNames.get(key) ?? new Set<string>();
    names.add(name);
    this.suggestionNames.set(key, names);
  }

  // --- results -----------------------------------------------------------

  private finish(): void {
    const steps = this.stepFlows;
    const dynamic = this.stepsReadingDynamically();
    for (const step of this.input.grouping.steps) {
      const parameters = dynamic.has(step.name)
        ? [...this.input.parameters]
        : [...(this.parameterReads.get(step.name) ?? [])];
      steps.set(step.name, {
        ins: [],
        outs: [],
        sources: {},
        parameters: parameters.sort(),
        fingerprint: [],
        guards: []
      });
    }
    // Collected as sets and sorted once: a step of a long notebook has many inputs and outputs.
    const ins = new Map<string, Set<string>>();
    const outs = new Map<string, Set<string>>();
    const add = (sets: Map<string, Set<string>>, step: string, name: string) => {
      const set = sets.get(step);
      if (set) {
        set.add(name);
      } else {
        sets.set(step, new Set([name]));
      }
    };
    for (const p of this.provisions) {
      this.checkLaterWrites(p);
      const provider = p.writer.step!;
      if (p.consumer.step === '') {
        continue; // a metric: recorded by its provider, not passed on
      }
      steps.get(p.consumer.step)!.sources[p.name] = provider;
      add(ins, p.consumer.step, p.name);
      add(outs, provider, p.name);
      if (p.writer.unserialisable) {
        this.once(`unserialisable:${provider}:${p.name}`, () =>
          diagnostic(
            'warning',
            'unserialisable',
            `"${p.name}" is ${UNSERIALISABLE[p.writer.unserialisable!]} (cell ${p.writer.cell + 1}, line ` +
              `${p.writer.at.line}) and cannot be passed from step ${provider} to step ${p.consumer.step}. ` +
              `Create it again in step ${p.consumer.step}, or pass the data it holds instead.`,
            {
              cell: p.writer.cell,
              line: p.writer.at.line,
              column: p.writer.at.column,
              step: provider,
              name: p.name
            }
          )
        );
      }
    }
    for (const [name, flow] of steps) {
      const stepIns = ins.get(name) ?? new Set<string>();
      flow.ins = [...stepIns].sort();
      flow.outs = [...(outs.get(name) ?? [])].sort();
      // Inputs the step only may have changed: the runtime compares fingerprints before passing them on.
      const guards = [...(this.guards.get(name)?.values() ?? [])].filter(g => stepIns.has(g.name));
      this.stepGuards.set(
        name,
        guards.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      );
      const maybeOnly = (n: string) => this.writesOf(n).every(w => w.step !== name || w.how === 'maybe');
      const watched = new Set([
        ...flow.outs.filter(n => stepIns.has(n) && maybeOnly(n)),
        ...guards.map(g => g.name)
      ]);
      flow.fingerprint = [...watched].sort();
    }
    this.reportUndefined();
    for (const [key, names] of this.suggestionNames) {
      const [from, to] = key.split('\u0000');
      const cell = this.input.grouping.steps.find(s => s.name === to)!.cells[0];
      this.suggestions.push({ from, to, names: [...names].sort(), cell });
    }
  }

  /** Steps with a cell (or a prelude cell) that reaches into the namespace dynamically. */
  private stepsReadingDynamically(): Set<string> {
    const { grouping, analyses } = this.input;
    const dynamicCell = (cell: number) =>
      analyses.get(cell)?.issues.some(i => i.code === 'dynamic-namespace') ?? false;
    if ([...grouping.imports, ...grouping.functions].some(dynamicCell)) {
      return new Set(grouping.steps.map(s => s.name));
    }
    return new Set(grouping.steps.filter(s => s.cells.some(dynamicCell)).map(s => s.name));
  }

  /**
   * The provider writes the name again in a cell below the read (its cells are
   * interleaved with the consumer's): the pipeline passes the step's final
   * value, while the notebook read the earlier one.
   */
  private checkLaterWrites(p: Provision): void {
    const changed = this.writesOf(p.name).find(
      w => w.step === p.writer.step && w.cell > p.consumer.cell && w.how !== 'maybe'
    );
    if (!changed) {
      return;
    }
    const reader = p.consumer.step === '' ? 'the pipeline-metrics cell' : `step ${p.consumer.step}`;
    this.once(`later:${p.consumer.step}:${p.name}`, () =>
      diagnostic(
        'error',
        'ambiguous-writer',
        `Step ${p.writer.step} writes "${p.name}" again in cell ${changed.cell + 1}, after ${reader} reads it ` +
          `in cell ${p.consumer.cell + 1}; the pipeline passes the step's final value, the notebook the earlier ` +
          `one. Keep the cells of a step together or use different names.`,
        { cell: p.consumer.cell, line: p.consumer.at.line, column: p.consumer.at.column, name: p.name }
      )
    );
  }

  /** A read of IPython's history whose cells do not run before it in the same step. */
  private checkHistory(name: string, site: Site): void {
    const reach = historyReach(name);
    if (reach === 0) {
      return;
    }
    const before = this.cellsBefore.slice(-Math.min(reach, this.cellsBefore.length));
    const elsewhere = before.find(c => c.step !== site.step);
    if (reach !== Infinity && !elsewhere) {
      return;
    }
    const cell = reach === Infinity ? undefined : elsewhere?.cell;
    this.once(`history:${site.step}:${site.cell}:${name}`, () =>
      diagnostic('warning', 'output-history', historyMessage(name, site.step, site.cell, cell), {
        ...where(site),
        name
      })
    );
  }

  private reportUndefined(): void {
    for (const { name, site } of this.undefinedReads) {
      const later = this.writesOf(name).find(w => w.cell > site.cell && w.how !== 'delete');
      const at = () => ({ ...where(site), name });
      if (later) {
        this.once(`undefined:${site.step}:${name}`, () =>
          diagnostic(
            'error',
            'undefined-name',
            `Step ${site.step} reads "${name}"${viaText(site)} before any cell defines it; it is first ` +
              `written in cell ${later.cell + 1} (step ${later.step}), below. Move that code above, or ` +
              `make ${later.step} an upstream step of ${site.step} in notebook order.`,
            at()
          )
        );
      } else if (this.hasStarImport) {
        this.once(`undefined:${site.step}:${name}`, () =>
          diagnostic(
            'warning',
            'star-import-name',
            `"${name}" is not defined by any cell; it may come from a star import, which cellpipe cannot ` +
              `see into. Import it by name.`,
            at()
          )
        );
      } else {
        this.once(`undefined:${site.step}:${name}`, () =>
          diagnostic(
            'error',
            'undefined-name',
            `"${name}" is not defined by any cell of the pipeline${viaText(site)}. Define it in a step above, ` +
              `in the imports cell, or as a pipeline parameter (skip cells are not part of the pipeline).`,
            at()
          )
        );
      }
    }
  }
}

function toWrite(
  event: Extract<FlowEvent, { kind: 'write' }>,
  step: string | null,
  cell: number,
  at: Place
): Write {
  return {
    step,
    cell,
    at,
    how: event.how,
    deferred: event.deferred,
    unserialisable: event.unserialisable,
    module: event.module,
    holds: event.holds,
    aliasOf: event.aliasOf,
    defines: event.defines
  };
}

/**
 * A call inside a function's body as the caller's call makes it: an argument that is a parameter is what the
 * caller passed for it (so `def f(p): g(p)` with `g` changing its parameter changes `f`'s argument); one that
 * is neither a parameter nor a global the body reads is a local of the body, never a module-level name.
 */
function innerCall(inner: CallInfo, body: Deferred, outer: CallInfo | undefined): CallInfo {
  const params = body.params ?? [];
  const passed = (arg: string): string | undefined => {
    const index = params.indexOf(arg);
    if (index < 0) {
      return body.reads.some(r => r.name === arg) ? arg : undefined;
    }
    return outer?.keywords?.[arg] ?? outer?.args?.[index] ?? undefined;
  };
  if (!inner.args && !inner.keywords) {
    return inner;
  }
  const out: CallInfo = { ...inner };
  if (inner.args) {
    out.args = inner.args.map(a => (a === null ? null : (passed(a) ?? null)));
  }
  if (inner.keywords) {
    const keywords: Record<string, string> = {};
    for (const [k, v] of Object.entries(inner.keywords)) {
      const arg = passed(v);
      if (arg !== undefined) {
        keywords[k] = arg;
      }
    }
    out.keywords = keywords;
  }
  return out;
}

function mergeDeferred(a: Deferred | undefined, b: Deferred | undefined): Deferred | undefined {
  if (!a || !b) {
    return a ?? b;
  }
  return {
    ...a,
    reads: [...a.reads, ...b.reads],
    writes: [...a.writes, ...b.writes],
    makesCallables: a.makesCallables || b.makesCallables
  };
}

function lastOf<T>(list: readonly T[] | undefined): T | undefined {
  return list && list.length > 0 ? list[list.length - 1] : undefined;
}

function placeOf(event: FlowEvent): Place {
  return { line: event.line, column: event.column };
}

function where(site: Site) {
  return { cell: site.cell, line: site.at.line, column: site.at.column, step: site.step };
}

function viaText(site: Site): string {
  return site.via ? ` (through a call of ${site.via})` : '';
}
