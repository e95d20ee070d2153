/**
 * A parameter sweep, planned: the axes the user gives (`--param gamma=0.001,0.01`, or a range
 * `lr=0.0001..0.1:log` for random search), the trials they make (the grid, or `random` draws of it),
 * which steps every trial shares (they read none of the swept parameters, and neither do the steps they
 * continue from), and which trial is best by the objective metric. Pure: the shells run the trials.
 */
import type { RunnableStep } from '../targets/runnable-steps';
import { parameterText, parseParameterOverride, ParameterValue } from '../tags/parameters';

/** The values one parameter takes: listed, or a numeric range drawn from by random search. */
export type SweepAxis =
  | { name: string; kind: 'values'; values: ParameterValue[] }
  | { name: string; kind: 'range'; type: 'int' | 'float'; min: number; max: number; log: boolean };

export interface Objective {
  metric: string;
  goal: 'max' | 'min';
}

/** One trial: a value for each swept parameter. */
export type TrialParameters = Record<string, ParameterValue>;

/** A sweep the user asked for that cannot be run as asked; the message says what to write instead. */
export class SweepSpecError extends Error {}

/**
 * `NAME=V1,V2,...` (each value typed as `--param` types it; commas inside brackets or quotes do not
 * split) or `NAME=MIN..MAX` / `NAME=MIN..MAX:log` for an int or float parameter.
 */
export function parseSweepAxis(text: string, declared: Record<string, ParameterValue>): SweepAxis {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new SweepSpecError(`--param ${text}: write NAME=VALUE,VALUE,... or NAME=MIN..MAX`);
  }
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const param = declared[name];
  const range = /^\s*(.+?)\s*\.\.\s*(.+?)\s*(:log)?\s*$/.exec(raw);
  if (param && (param.type === 'int' || param.type === 'float') && range) {
    const ends = [range[1], range[2]].map(end => parseParameterOverride(`${name}=${end}`, declared).value);
    const [min, max] = ends.map(v => v.value as number);
    const log = !!range[3];
    if (!(min < max)) {
      throw new SweepSpecError(`--param ${text}: the range's first end must be below its second`);
    }
    if (log && min <= 0) {
      throw new SweepSpecError(`--param ${text}: a log range needs ends above 0`);
    }
    return { name, kind: 'range', type: param.type, min, max, log };
  }
  const values = splitTopLevel(raw).map(value => {
    try {
      return parseParameterOverride(`${name}=${value}`, declared).value;
    } catch (err) {
      throw new SweepSpecError((err as Error).message);
    }
  });
  const distinct = new Map(values.map(v => [parameterText(v), v]));
  return { name, kind: 'values', values: [...distinct.values()] };
}

/** `accuracy:max` or `loss:min` (default goal: max). */
export function parseObjective(text: string): Objective {
  const match = /^([^:]+?)(?::(max|min))?$/.exec(text.trim());
  if (!match) {
    throw new SweepSpecError(`--objective ${text}: write METRIC:max or METRIC:min`);
  }
  return { metric: match[1], goal: (match[2] as 'max' | 'min' | undefined) ?? 'max' };
}

/**
 * The trials: every combination of the axes' values (the first axis varies slowest), or, with `random`,
 * that many draws (distinct combinations of listed values; ranges drawn uniformly, or log-uniformly),
 * the same for the same `seed` so that a sweep run again reuses its trials' cached steps.
 */
export function sweepTrials(axes: readonly SweepAxis[], random?: number, seed = 0): TrialParameters[] {
  if (axes.length === 0) {
    throw new SweepSpecError('a sweep needs at least one --param NAME=VALUE,VALUE,...');
  }
  const names = axes.map(a => a.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new SweepSpecError(`--param ${duplicate} is given twice`);
  }
  if (random === undefined) {
    const ranged = axes.find(a => a.kind === 'range');
    if (ranged) {
      throw new SweepSpecError(`--param ${ranged.name}: a range is for random search; add --random N`);
    }
    return grid(axes as Extract<SweepAxis, { kind: 'values' }>[]);
  }
  if (!(Number.isInteger(random) && random > 0)) {
    throw new SweepSpecError(`--random ${random}: expected a whole number above 0`);
  }
  const next = generator(seed);
  const size = axes.every(a => a.kind === 'values')
    ? axes.reduce((n, a) => n * (a as Extract<SweepAxis, { kind: 'values' }>).values.length, 1)
    : Infinity;
  const seen = new Set<string>();
  const trials: TrialParameters[] = [];
  const wanted = Math.min(random, size);
  // An int range may hold fewer values than draws asked for: give up on new ones after enough repeats.
  for (let attempt = 0; trials.length < wanted && attempt < wanted * 100; attempt++) {
    const trial: TrialParameters = {};
    for (const axis of axes) {
      trial[axis.name] = draw(axis, next);
    }
    const key = trialLabel(trial);
    if (!seen.has(key)) {
      seen.add(key);
      trials.push(trial);
    }
  }
  return trials;
}

/** `gamma=0.01 C=10`: a trial as a person reads it (and as `--param` would take it back). */
export function trialLabel(trial: TrialParameters): string {
  return Object.entries(trial)
    .map(([name, value]) => `${name}=${parameterText(value)}`)
    .join(' ');
}

/**
 * The steps every trial shares: a step whose parameters (those a run sets) include no swept one, and
 * whose upstream steps, inputs' providers and interpreter state are all shared too. They compute the same
 * in every trial, so they run once and the other trials take them from the cache.
 */
export function sharedSteps(runnable: readonly RunnableStep[], swept: readonly string[]): string[] {
  const shared = new Set<string>();
  // Runnable steps come in an order that puts each after the steps it depends on.
  for (const step of runnable) {
    const before = [...step.deps, ...Object.values(step.sources), ...step.stateFrom];
    if (!step.runParameters.some(p => swept.includes(p)) && before.every(s => shared.has(s))) {
      shared.add(step.name);
    }
  }
  return runnable.map(s => s.name).filter(name => shared.has(name));
}

/** The index of the best trial by `objective` among those that recorded it as a number, or null. */
export function bestTrial(
  trials: ReadonlyArray<{ metrics?: Record<string, unknown> }>,
  objective: Objective
): number | null {
  let best: number | null = null;
  let bestValue = 0;
  trials.forEach((trial, i) => {
    const value = trial.metrics?.[objective.metric];
    if (typeof value !== 'number' || Number.isNaN(value)) {
      return;
    }
    if (best === null || (objective.goal === 'max' ? value > bestValue : value < bestValue)) {
      best = i;
      bestValue = value;
    }
  });
  return best;
}

function grid(axes: ReadonlyArray<Extract<SweepAxis, { kind: 'values' }>>): TrialParameters[] {
  let trials: TrialParameters[] = [{}];
  for (const axis of axes) {
    trials = trials.flatMap(trial => axis.values.map(value => ({ ...trial, [axis.name]: value })));
  }
  return trials;
}

function draw(axis: SweepAxis, next: () => number): ParameterValue {
  if (axis.kind === 'values') {
    return axis.values[Math.floor(next() * axis.values.length)];
  }
  const u = next();
  if (axis.log) {
    const x = Math.exp(Math.log(axis.min) + u * (Math.log(axis.max) - Math.log(axis.min)));
    return axis.type === 'int'
      ? { type: 'int', value: Math.round(x) }
      : { type: 'float', value: Number(x.toPrecision(6)) };
  }
  return axis.type === 'int'
    ? { type: 'int', value: axis.min + Math.floor(u * (axis.max - axis.min + 1)) }
    : { type: 'float', value: Number((axis.min + u * (axis.max - axis.min)).toPrecision(6)) };
}

/** mulberry32: a small seeded generator, so that the same seed draws the same trials everywhere. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `a,b,[1,2],"x,y"` at the commas outside brackets, braces and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') {
        i++;
      } else if (c === quote) {
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map(p => unquote(p.trim()));
}

/** A value written in quotes (to hold a comma) is the text inside them. */
function unquote(text: string): string {
  if (text.length >= 2 && (text[0] === '"' || text[0] === "'") && text[text.length - 1] === text[0]) {
    return text.startsWith('"') ? (JSON.parse(text) as string) : text.slice(1, -1);
  }
  return text;
}
