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
 * - `delete`: `del name` unbinds it.
 */
export type WriteHow = 'bind' | 'mutate' | 'delete';

/**
 * A value that cannot cross a step boundary, recognised from the expression
 * bound to a name (`f = open(...)`, a generator, a lock, a connection).
 */
export type UnserialisableKind = 'file' | 'generator' | 'lock' | 'connection' | 'thread' | 'module';

/** Deferred effects of a function, lambda or class: they happen when it is called. */
export interface Deferred {
  /** Global names read by the body (after scoping: locals, parameters and closures excluded). */
  reads: NamePosition[];
  /** Global names written by the body: through `global` (bind/delete) or mutated in place. */
  writes: Array<NamePosition & { how: WriteHow }>;
}

export type FlowEvent =
  /** A module-level load of a name (calling `f()` is a read of `f`). */
  | ({ kind: 'read' } & NamePosition)
  /**
   * A module-level write. For `def f`, `class C` and `f = lambda ...` the event
   * carries what calling the bound object does later (`deferred`).
   */
  | ({
      kind: 'write';
      how: WriteHow;
      deferred?: Deferred;
      unserialisable?: UnserialisableKind;
      /** true when the write is a `bind` that comes from an import statement. */
      isImport?: boolean;
    } & NamePosition);

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
