/**
 * What the Python analysis says about one cell. The flow layer replays these
 * events across cells in notebook order; nothing here knows about steps.
 *
 * Positions: `line` is 1-based within the cell's source, `column` 0-based.
 */

export interface NamePosition {
  name: string;
  line: number;
  column: number;
}

/**
 * How a write changes a module-level name (design rule 3):
 * - `bind`: assignment, augmented assignment, import, def, class, for/with/except target, walrus, match capture;
 * - `mutate`: the object is changed in place (subscript/attribute assignment or del, known in-place method, `inplace=True`);
 * - `delete`: `del name` unbinds it;
 * - `maybe`: a method call that may change the object (`rng.normal()`, `it.send(x)`, a notebook class's
 *   method): the step that makes it provides the name below, and the runtime saves it again only when a
 *   fingerprint shows it changed.
 */
export type WriteHow = 'bind' | 'mutate' | 'delete' | 'maybe';

/** A call on a read: `f(a, b)` reads f with args; `np.random.seed(0)` reads np with attr `random.seed`. */
export interface CallInfo {
  /** The attribute chain after the name, for `name.a.b(...)`. */
  attr?: string;
  /** Positional arguments: the root name of each (`df`, `models['a']` → `models`), or null. */
  args?: Array<string | null>;
  /** Keyword arguments bound to a root name. */
  keywords?: Record<string, string>;
}

/** A name whose value may end up inside what a write stores (`fns = [f]`, `pipe = make(clf)`, `obj = C()`). */
export interface Hold {
  name: string;
  /** Held as the result of calling it: a class's instance, or what a function returns. */
  called?: boolean;
}

/**
 * A value that cannot cross a step boundary, recognised from the expression
 * bound to a name (`f = open(...)`, a generator, a lock, a connection).
 */
export type UnserialisableKind = 'file' | 'generator' | 'lock' | 'connection' | 'thread' | 'module';

/** Deferred effects of a function, lambda or class: they happen when it is called. */
export interface Deferred {
  /** Global names read by the body (after scoping: locals, parameters and closures excluded). */
  reads: Array<NamePosition & { call?: CallInfo }>;
  /** Global names written by the body: through `global` (bind/delete) or mutated in place. */
  writes: Array<NamePosition & { how: WriteHow }>;
  /** The parameters, in order (for a call's arguments). */
  params?: string[];
  /** Parameters the body changes in place: the caller's argument changes with them. */
  mutates?: Array<{ param: string; how: WriteHow }>;
  /** A class (its instances carry its methods), or a function that returns a function it defines. */
  makesCallables?: boolean;
  /**
   * State the function keeps between its calls: the results a `functools.cache`/`lru_cache` decorator
   * keeps (`cache`), or a mutable default argument the body changes (`default`).
   */
  ownState?: OwnState;
}

export type OwnState = 'cache' | 'default';

export type FlowEvent =
  /** A module-level load of a name (calling `f()` is a read of `f`). */
  | ({ kind: 'read'; call?: CallInfo } & NamePosition)
  /**
   * A module-level write. For `def f`, `class C` and `f = lambda ...` the event
   * carries what calling the bound object does later (`deferred`).
   */
  | ({ kind: 'write'; how: WriteHow } & WriteDetails & NamePosition);

/** What a module-level write says beyond its name and how it writes. */
export interface WriteDetails {
  deferred?: Deferred;
  /** Bound by a `def`, `class` or `lambda` (with or without deferred effects). */
  defines?: boolean;
  unserialisable?: UnserialisableKind;
  /** true when the write is a `bind` that comes from an import statement. */
  isImport?: boolean;
  /** For an import: the dotted module (or module member) the name is bound to. */
  module?: string;
  /** For `import a.b` (no alias): the module the statement imports, where `module` is the `a` it binds. */
  imported?: string;
  /** Names whose values the written value may hold (their deferred effects come with it). */
  holds?: Hold[];
  /** Bound to part of another name's object (`items = data['items']`, `b = a`, `col = X[:, 0]`). */
  aliasOf?: string;
}

export type AnalysisIssueCode =
  'syntax-error' | 'star-import' | 'dynamic-namespace' | 'opaque-cell-magic' | 'use-after-delete';

export interface AnalysisIssue {
  code: AnalysisIssueCode;
  message: string;
  line: number;
  column: number;
  /** For `star-import`: the module; for `dynamic-namespace`: the construct (`exec`, `globals()`, `%run`). */
  detail?: string;
}

export interface CellAnalysis {
  /** Module-level reads and writes in evaluation order. */
  events: FlowEvent[];
  issues: AnalysisIssue[];
}
