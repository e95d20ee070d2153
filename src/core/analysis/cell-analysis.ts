/**
 * One cell's Python → its module-level read and write events in evaluation
 * order (design rules 1–3). Function, lambda and class bodies are analysed
 * into the `deferred` effects of the name they bind.
 */
import type { Node as TreeSitterNode, Tree } from 'web-tree-sitter';
import { Scope, Sink } from './scope';
import type { SyntaxNode as Node } from './syntax-tree';
import type {
  AnalysisIssue,
  CallInfo,
  CellAnalysis,
  Deferred,
  FlowEvent,
  Hold,
  UnserialisableKind,
  WriteDetails,
  WriteHow
} from './types';

/** Methods that change their object in place (rule 3). */
const MUTATORS = new Set([
  'append',
  'extend',
  'insert',
  'remove',
  'pop',
  'clear',
  'sort',
  'reverse',
  'update',
  'setdefault',
  'popitem',
  'add',
  'discard',
  'difference_update',
  'intersection_update',
  'symmetric_difference_update',
  'fit',
  'partial_fit',
  'fit_transform',
  'fit_predict',
  'set_params'
]);

/**
 * Methods that change nothing, by convention of the builtin, NumPy, pandas and scikit-learn types: a call
 * of any other method may change its object (`maybe`). Kept to frequent calls on large values, whose
 * fingerprint would cost the most.
 */
const PURE_METHODS = new Set([
  'copy',
  'get',
  'keys',
  'values',
  'items',
  'count',
  'index',
  'format',
  'join',
  'split',
  'rsplit',
  'strip',
  'lstrip',
  'rstrip',
  'lower',
  'upper',
  'startswith',
  'endswith',
  'replace',
  'find',
  'encode',
  'decode',
  'splitlines',
  'title',
  'head',
  'tail',
  'describe',
  'info',
  'sum',
  'mean',
  'median',
  'std',
  'var',
  'min',
  'max',
  'abs',
  'round',
  'any',
  'all',
  'argmax',
  'argmin',
  'idxmax',
  'idxmin',
  'cumsum',
  'cumprod',
  'nunique',
  'unique',
  'value_counts',
  'isna',
  'isnull',
  'notna',
  'notnull',
  'astype',
  'reshape',
  'flatten',
  'ravel',
  'transpose',
  'dot',
  'groupby',
  'agg',
  'aggregate',
  'merge',
  'pivot',
  'pivot_table',
  'melt',
  'query',
  'to_numpy',
  'tolist',
  'to_list',
  'to_dict',
  'to_csv',
  'to_string',
  'to_html',
  'to_json',
  'to_frame',
  'to_markdown',
  'plot',
  'hist',
  'boxplot',
  'corr',
  'cov',
  'quantile',
  'rolling',
  'resample',
  'shift',
  'diff',
  'pct_change',
  'isin',
  'between',
  'duplicated',
  'select_dtypes',
  'memory_usage',
  'equals',
  'nlargest',
  'nsmallest',
  'iterrows',
  'itertuples',
  'predict',
  'predict_proba',
  'predict_log_proba',
  'decision_function',
  'score',
  'transform',
  'inverse_transform',
  'get_params',
  'summary',
  'conf_int',
  'item',
  'sample',
  'filter',
  'prod',
  'clip',
  'where',
  'mask',
  'apply',
  'map',
  'applymap',
  'sort_values',
  'sort_index',
  'drop',
  'dropna',
  'fillna',
  'rename',
  'reset_index',
  'set_index',
  'drop_duplicates',
  'loc',
  'numpy',
  'detach',
  'cpu',
  'mean_squared_error',
  'get_feature_names_out',
  'score_samples',
  'nodes',
  'edges',
  'degree',
  'neighbors',
  'number_of_nodes',
  'number_of_edges',
  'has_edge',
  'has_node',
  'subgraph'
]);

/** Calls that change their first argument: `rng.shuffle(x)`, `heapq.heappush(h, v)`, `next(it)`. */
const FIRST_ARGUMENT_MUTATORS = new Set([
  'shuffle',
  'heappush',
  'heappop',
  'heapify',
  'heapreplace',
  'heappushpop',
  'insort',
  'insort_left',
  'insort_right',
  'copyto',
  'fill_diagonal',
  'putmask'
]);
const FIRST_ARGUMENT_BUILTINS = new Set(['next', 'setattr', 'delattr']);

const UNSERIALISABLE_CALLS: Record<string, UnserialisableKind> = {
  open: 'file',
  'io.open': 'file',
  'gzip.open': 'file',
  'bz2.open': 'file',
  'lzma.open': 'file',
  'codecs.open': 'file',
  'tempfile.TemporaryFile': 'file',
  'tempfile.NamedTemporaryFile': 'file',
  'threading.Lock': 'lock',
  'threading.RLock': 'lock',
  'threading.Semaphore': 'lock',
  'threading.BoundedSemaphore': 'lock',
  'threading.Condition': 'lock',
  'multiprocessing.Lock': 'lock',
  'sqlite3.connect': 'connection',
  'socket.socket': 'connection',
  create_engine: 'connection',
  'sqlalchemy.create_engine': 'connection',
  'psycopg2.connect': 'connection',
  'pymysql.connect': 'connection',
  'requests.Session': 'connection',
  'urllib.request.urlopen': 'connection',
  'threading.Thread': 'thread',
  'multiprocessing.Process': 'thread'
};

/** Values that are part of another name's object. */
const ACCESS = new Set(['identifier', 'attribute', 'subscript']);

/** Literals whose lambdas are stored, not called. */
const CONTAINERS = new Set(['dictionary', 'pair', 'list', 'tuple', 'set', 'parenthesized_expression']);

const DYNAMIC_CALLS = new Set(['exec', 'eval', 'globals', 'locals', 'vars']);

/**
 * Named children. Comments are among them; every walk below ignores them
 * (they contain no names), which is cheaper than asking each child its type.
 */
function named(node: Node | null | undefined): Node[] {
  return node ? node.namedChildren : [];
}

function field(node: Node, name: string): Node | null {
  return node.childForFieldName(name);
}

/** `a` for `a`, `a.b.c`, `a[0].b`: the name whose object an access chain starts from. */
function rootName(node: Node): Node | null {
  let n: Node | null = node;
  while (n) {
    if (n.type === 'identifier') {
      return n;
    }
    if (n.type === 'attribute') {
      n = field(n, 'object');
    } else if (n.type === 'subscript') {
      n = field(n, 'value');
    } else if (n.type === 'parenthesized_expression') {
      n = named(n)[0] ?? null;
    } else {
      return null;
    }
  }
  return null;
}

/** Where a new function's deferred effects attach, when it is defined in code that runs now. */
type Owner = { deferred: Deferred } | null;

interface ClassRecord {
  deferred: Deferred;
}

export class CellWalker {
  readonly events: FlowEvent[] = [];
  readonly issues: AnalysisIssue[] = [];
  private readonly deleted = new Set<string>();
  /** Module-level names this cell has bound so far. */
  private readonly boundHere = new Set<string>();
  private readonly generatorFunctions = new Set<string>();
  private readonly classes = new WeakMap<Scope, ClassRecord>();

  analyse(root: Node, isolated: boolean): void {
    const now: Sink = { kind: 'now' };
    const scope = isolated ? new Scope('function', null, now) : new Scope('module', null, now);
    if (isolated) {
      this.collectLocals(named(root), scope);
    }
    // Only cells that mention yield can define generator functions; the search is costly.
    const defs = root.text.includes('yield') ? root.descendantsOfType('function_definition') : [];
    for (const def of defs) {
      if (def && def.descendantsOfType(['yield']).length > 0) {
        const name = field(def, 'name');
        if (name) {
          this.generatorFunctions.add(name.text);
        }
      }
    }
    this.block(named(root), scope);
  }

  // --- events --------------------------------------------------------------

  private read(node: Node, scope: Scope, call?: CallInfo): void {
    const name = node.text;
    if (!scope.resolvesToGlobal(name)) {
      return;
    }
    const pos: { name: string; line: number; column: number; call?: CallInfo } = {
      name,
      line: node.startPosition.row + 1,
      column: node.startPosition.column
    };
    if (call) {
      pos.call = call;
    }
    if (scope.sink.kind === 'later') {
      // A call with arguments is kept each time (they differ); any other read once.
      const attr = call?.attr;
      if (
        call?.args ||
        call?.keywords ||
        !scope.sink.deferred.reads.some(
          r => r.name === name && r.call?.attr === attr && !r.call?.args && !r.call?.keywords
        )
      ) {
        scope.sink.deferred.reads.push(pos);
      }
      return;
    }
    if (this.deleted.has(name)) {
      this.issues.push({
        code: 'use-after-delete',
        message: `"${name}" is read after \`del ${name}\` in this cell`,
        line: pos.line,
        column: pos.column
      });
      this.deleted.delete(name);
    }
    this.events.push({ kind: 'read', ...pos });
  }

  private write(node: Node, scope: Scope, how: WriteHow, extra: WriteDetails = {}): void {
    const name = node.text;
    if (how === 'mutate' || how === 'maybe') {
      if (!scope.resolvesToGlobal(name)) {
        this.paramMutation(name, scope, how);
        return;
      }
    } else if (scope.kind === 'class' && !scope.globals.has(name)) {
      // A class body binds class attributes, not module names.
      if (how === 'delete') {
        scope.locals.delete(name);
      } else {
        scope.locals.add(name);
      }
      return;
    } else if (scope.kind === 'comprehension') {
      return;
    } else if (scope.kind === 'function' && !scope.globals.has(name)) {
      return;
    }
    const pos = { name, line: node.startPosition.row + 1, column: node.startPosition.column };
    if (scope.sink.kind === 'later') {
      scope.sink.deferred.writes.push({ ...pos, how });
      return;
    }
    if (how === 'delete') {
      this.deleted.add(name);
    } else if (how === 'bind') {
      this.deleted.delete(name);
      this.boundHere.add(name);
    }
    const event: FlowEvent = { kind: 'write', how, ...pos };
    const d = extra.deferred;
    if (d) {
      event.defines = true;
    }
    if (d && (d.reads.length > 0 || d.writes.length > 0 || d.mutates || d.makesCallables || d.ownState)) {
      event.deferred = extra.deferred;
    }
    if (extra.unserialisable) {
      event.unserialisable = extra.unserialisable;
    }
    if (extra.isImport) {
      event.isImport = true;
      if (extra.module) {
        event.module = extra.module;
      }
      if (extra.imported) {
        event.imported = extra.imported;
      }
    }
    if (extra.holds && extra.holds.length > 0) {
      // Each held name once (a value holding itself adds nothing): the flow resolves every hold.
      const seen = new Set<string>();
      const holds = extra.holds.filter(h => {
        const key = h.called ? `${h.name}()` : h.name;
        if (h.name === name || seen.has(key)) {
          return false;
        }
        seen.add(key);
        return true;
      });
      if (holds.length > 0) {
        event.holds = holds;
      }
    }
    if (extra.aliasOf && extra.aliasOf !== name) {
      event.aliasOf = extra.aliasOf;
    }
    this.events.push(event);
  }

  /** A function that changes a parameter in place changes what its caller passed. */
  private paramMutation(name: string, scope: Scope, how: WriteHow): void {
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (s.kind === 'function' && s.locals.has(name)) {
        if (s.params?.includes(name)) {
          s.paramMutations ??= new Map();
          if (s.paramMutations.get(name) !== 'mutate') {
            s.paramMutations.set(name, how);
          }
        }
        return;
      }
    }
  }

  private mutate(base: Node, scope: Scope, how: WriteHow = 'mutate', holds?: Hold[]): void {
    const root = rootName(base);
    if (root) {
      this.write(root, scope, how, { holds });
    }
  }

  /**
   * Names the value just evaluated may hold, from the reads it made since `mark`: names read as values (or
   * as objects of method calls), and names called (a class gives an instance, a function may return one
   * it defines). Taken from the events, so the expression is not walked twice.
   */
  private holdsSince(mark: number, called = false): Hold[] | undefined {
    let holds: Hold[] | undefined;
    for (let i = mark; i < this.events.length; i++) {
      const e = this.events[i];
      if (e.kind === 'read') {
        (holds ??= []).push(
          called || (e.call && !e.call.attr) ? { name: e.name, called: true } : { name: e.name }
        );
      }
    }
    return holds;
  }

  // --- statements ----------------------------------------------------------

  private block(statements: Node[], scope: Scope): void {
    for (const s of statements) {
      this.statement(s, scope);
    }
  }

  private body(node: Node | null, scope: Scope): void {
    if (node) {
      this.block(node.type === 'block' ? named(node) : [node], scope);
    }
  }

  private statement(node: Node, scope: Scope): void {
    switch (node.type) {
      case 'expression_statement':
        for (const child of named(node)) {
          this.assignmentOrExpression(child, scope);
        }
        return;
      case 'import_statement':
        for (const n of named(node)) {
          if (n.type === 'aliased_import') {
            const module = field(n, 'name')?.text;
            this.write(field(n, 'alias')!, scope, 'bind', { isImport: true, module });
          } else {
            const first = named(n)[0];
            const imported = n.text !== first.text ? n.text : undefined;
            this.write(first, scope, 'bind', { isImport: true, module: first.text, imported });
          }
        }
        return;
      case 'import_from_statement':
        this.importFrom(node, scope);
        return;
      case 'future_import_statement':
      case 'global_statement':
      case 'nonlocal_statement':
      case 'pass_statement':
      case 'break_statement':
      case 'continue_statement':
        if (node.type === 'global_statement' && scope.kind === 'class') {
          for (const n of named(node)) {
            scope.globals.add(n.text);
          }
        }
        return;
      case 'delete_statement':
        for (const target of named(node).flatMap(n => (n.type === 'expression_list' ? named(n) : [n]))) {
          this.deleteTarget(target, scope);
        }
        return;
      case 'if_statement':
        this.expr(field(node, 'condition'), scope);
        this.body(field(node, 'consequence'), scope);
        for (const alt of node.childrenForFieldName('alternative')) {
          if (alt?.type === 'elif_clause') {
            this.expr(field(alt, 'condition'), scope);
            this.body(field(alt, 'consequence'), scope);
          } else if (alt) {
            this.body(field(alt, 'body'), scope);
          }
        }
        return;
      case 'for_statement': {
        const mark = this.events.length;
        this.expr(field(node, 'right'), scope);
        this.target(field(node, 'left')!, scope, undefined, this.holdsSince(mark));
        this.body(field(node, 'body'), scope);
        this.elseClause(field(node, 'alternative'), scope);
        return;
      }
      case 'while_statement':
        this.expr(field(node, 'condition'), scope);
        this.body(field(node, 'body'), scope);
        this.elseClause(field(node, 'alternative'), scope);
        return;
      case 'try_statement':
        this.tryStatement(node, scope);
        return;
      case 'with_statement':
        this.withStatement(node, scope);
        return;
      case 'function_definition':
        this.functionDefinition(node, scope, []);
        return;
      case 'class_definition':
        this.classDefinition(node, scope, []);
        return;
      case 'decorated_definition': {
        const decorators = named(node).filter(n => n.type === 'decorator');
        const definition = field(node, 'definition')!;
        if (definition.type === 'class_definition') {
          this.classDefinition(definition, scope, decorators);
        } else {
          this.functionDefinition(definition, scope, decorators);
        }
        return;
      }
      case 'match_statement':
        this.matchStatement(node, scope);
        return;
      case 'type_alias_statement': {
        const left = named(node)[0];
        this.expr(named(node)[1], scope);
        const name = left && (left.type === 'identifier' ? left : named(left)[0]);
        if (name) {
          this.write(name, scope, 'bind');
        }
        return;
      }
      case 'ERROR':
        for (const child of named(node)) {
          this.statement(child, scope);
        }
        return;
      default:
        // return, raise, assert, print, exec and anything new: evaluate what they contain.
        for (const child of named(node)) {
          if (child.type === 'block') {
            this.body(child, scope);
          } else {
            this.expr(child, scope);
          }
        }
    }
  }

  private elseClause(node: Node | null, scope: Scope): void {
    if (node) {
      this.body(field(node, 'body') ?? named(node)[0] ?? null, scope);
    }
  }

  private importFrom(node: Node, scope: Scope): void {
    const from = field(node, 'module_name')?.text;
    for (const n of node.childrenForFieldName('name')) {
      if (!n) {
        continue;
      }
      if (n.type === 'aliased_import') {
        const module = from && `${from}.${field(n, 'name')?.text}`;
        this.write(field(n, 'alias')!, scope, 'bind', { isImport: true, module });
      } else {
        const parts = named(n);
        this.write(parts[parts.length - 1] ?? n, scope, 'bind', {
          isImport: true,
          module: from && `${from}.${n.text}`
        });
      }
    }
    if (named(node).some(n => n.type === 'wildcard_import')) {
      const module = field(node, 'module_name')?.text ?? '?';
      this.issues.push({
        code: 'star-import',
        message: `\`from ${module} import *\` defines names cellpipe cannot see`,
        line: node.startPosition.row + 1,
        column: node.startPosition.column,
        detail: module
      });
    }
  }

  private assignmentOrExpression(node: Node, scope: Scope): void {
    // Each `.type` is a call into wasm: read it once.
    const type = node.type;
    if (type === 'assignment') {
      this.assignment(node, scope);
    } else if (type === 'augmented_assignment') {
      const left = field(node, 'left')!;
      if (left.type === 'identifier') {
        this.read(left, scope);
        this.expr(field(node, 'right'), scope);
        this.write(left, scope, 'bind');
      } else {
        this.expr(left, scope);
        this.expr(field(node, 'right'), scope);
        this.mutate(left, scope);
      }
    } else {
      this.expr(node, scope);
    }
  }

  private assignment(node: Node, scope: Scope): void {
    const targets: Node[] = [];
    let value: Node | null = node;
    while (value && value.type === 'assignment') {
      targets.push(field(value, 'left')!);
      this.expr(field(value, 'type'), scope);
      value = field(value, 'right');
    }
    if (!value) {
      return; // a bare annotation binds nothing
    }
    const single = targets.length === 1 && targets[0].type === 'identifier';
    const valueType = value.type;
    let owner: Owner = null;
    if (single && valueType === 'lambda' && scope.sink.kind === 'now') {
      owner = { deferred: { reads: [], writes: [] } };
    }
    // Lambdas inside a container literal (`ops = {'add': lambda v: v + k}`) run when called, later.
    const container: Owner =
      !owner && single && CONTAINERS.has(valueType) && scope.sink.kind === 'now'
        ? { deferred: { reads: [], writes: [] } }
        : null;
    const mark = this.events.length;
    this.expr(value, scope, owner ?? container);
    const unserialisable =
      single && (valueType === 'call' || valueType === 'generator_expression')
        ? this.unserialisableKind(value)
        : undefined;
    const holds = owner ? undefined : this.holdsSince(mark);
    for (const t of targets) {
      if (owner) {
        this.write(t, scope, 'bind', { deferred: owner.deferred });
      } else if (container) {
        this.write(t, scope, 'bind', { deferred: container.deferred, holds, unserialisable });
      } else if (single && ACCESS.has(valueType)) {
        this.write(t, scope, 'bind', { holds, aliasOf: rootName(value)?.text });
      } else {
        this.target(t, scope, unserialisable, holds);
      }
    }
  }

  private unserialisableKind(value: Node): UnserialisableKind | undefined {
    if (value.type === 'generator_expression') {
      return 'generator';
    }
    if (value.type === 'call') {
      const fn = field(value, 'function')!.text;
      return UNSERIALISABLE_CALLS[fn] ?? (this.generatorFunctions.has(fn) ? 'generator' : undefined);
    }
    return undefined;
  }

  /** Binding targets: names bind; attributes and subscripts mutate their base. */
  private target(node: Node, scope: Scope, unserialisable?: UnserialisableKind, holds?: Hold[]): void {
    switch (node.type) {
      case 'identifier':
        this.write(node, scope, 'bind', { unserialisable, holds });
        return;
      case 'attribute':
        this.expr(field(node, 'object'), scope);
        this.mutate(node, scope, 'mutate', holds);
        return;
      case 'subscript':
        this.expr(field(node, 'value'), scope);
        for (const s of node.childrenForFieldName('subscript')) {
          this.expr(s, scope);
        }
        this.mutate(node, scope, 'mutate', holds);
        return;
      default:
        // tuples, lists, parenthesised and starred targets
        for (const child of named(node)) {
          this.target(child, scope, undefined, holds);
        }
    }
  }

  private deleteTarget(node: Node, scope: Scope): void {
    if (node.type === 'identifier') {
      // `del x` fails unless x exists, so it reads x before unbinding it.
      this.read(node, scope);
      this.write(node, scope, 'delete');
    } else if (node.type === 'attribute' || node.type === 'subscript') {
      this.expr(node, scope);
      this.mutate(node, scope);
    } else {
      for (const child of named(node)) {
        this.deleteTarget(child, scope);
      }
    }
  }

  private tryStatement(node: Node, scope: Scope): void {
    this.body(field(node, 'body'), scope);
    for (const clause of named(node)) {
      if (clause.type === 'except_clause' || clause.type === 'except_group_clause') {
        let alias: Node | null = null;
        for (const part of named(clause)) {
          if (part.type === 'block') {
            continue;
          }
          if (part.type === 'as_pattern') {
            this.expr(named(part)[0], scope);
            alias = named(field(part, 'alias'))[0] ?? null;
          } else {
            this.expr(part, scope);
          }
        }
        if (alias) {
          this.write(alias, scope, 'bind');
        }
        this.body(named(clause).find(n => n.type === 'block') ?? null, scope);
        if (alias) {
          // Python deletes the name at the end of the handler.
          this.write(alias, scope, 'delete');
        }
      } else if (clause.type === 'else_clause' || clause.type === 'finally_clause') {
        this.body(field(clause, 'body') ?? named(clause)[0] ?? null, scope);
      }
    }
  }

  private withStatement(node: Node, scope: Scope): void {
    const clause = named(node).find(n => n.type === 'with_clause');
    for (const item of named(clause)) {
      const value = field(item, 'value');
      if (value?.type === 'as_pattern') {
        const expression = named(value)[0];
        this.expr(expression, scope);
        const target = named(field(value, 'alias'))[0];
        if (target) {
          this.target(target, scope, expression ? this.unserialisableKind(expression) : undefined);
        }
      } else {
        this.expr(value, scope);
      }
    }
    this.body(field(node, 'body'), scope);
  }

  private matchStatement(node: Node, scope: Scope): void {
    for (const subject of node.childrenForFieldName('subject')) {
      this.expr(subject, scope);
    }
    const body = field(node, 'body');
    for (const clause of named(body)) {
      if (clause.type !== 'case_clause') {
        continue;
      }
      for (const part of named(clause)) {
        if (part.type === 'case_pattern') {
          this.pattern(part, scope);
        }
      }
      this.expr(named(field(clause, 'guard'))[0], scope);
      this.body(field(clause, 'consequence'), scope);
    }
  }

  /** Match patterns: a lone name captures (binds); dotted names and classes are read. */
  private pattern(node: Node, scope: Scope): void {
    switch (node.type) {
      case 'dotted_name': {
        const parts = named(node);
        if (parts.length === 1) {
          if (parts[0].text !== '_') {
            this.write(parts[0], scope, 'bind');
          }
        } else {
          this.read(parts[0], scope);
        }
        return;
      }
      case 'class_pattern': {
        const [cls, ...args] = named(node);
        const first = named(cls)[0];
        if (first) {
          this.read(first, scope);
        }
        args.forEach(a => this.pattern(a, scope));
        return;
      }
      case 'keyword_pattern':
        named(node)
          .slice(1)
          .forEach(p => this.pattern(p, scope));
        return;
      case 'splat_pattern':
      case 'as_pattern':
        for (const child of named(node)) {
          if (child.type === 'identifier') {
            if (child.text !== '_') {
              this.write(child, scope, 'bind');
            }
          } else {
            this.pattern(child, scope);
          }
        }
        return;
      case 'identifier':
        if (node.text !== '_') {
          this.write(node, scope, 'bind');
        }
        return;
      default:
        for (const child of named(node)) {
          this.pattern(child, scope);
        }
    }
  }

  // --- definitions ---------------------------------------------------------

  /** Where a function defined in `scope` sends its body's effects, and what they attach to. */
  private functionSink(scope: Scope): { sink: Sink; owner: Owner } {
    if (scope.sink.kind === 'later') {
      return { sink: scope.sink, owner: null };
    }
    if (scope.kind === 'module') {
      const owner = { deferred: { reads: [], writes: [] } };
      return { sink: { kind: 'later', deferred: owner.deferred }, owner };
    }
    const record = scope.kind === 'class' ? this.classes.get(scope) : undefined;
    if (record) {
      return { sink: { kind: 'later', deferred: record.deferred }, owner: null };
    }
    // A function defined in code that is itself isolated: treat its body as running now.
    return { sink: scope.sink, owner: null };
  }

  private typeParameterScope(node: Node, scope: Scope): Scope {
    const params = field(node, 'type_parameters');
    if (!params) {
      return scope;
    }
    const typeScope = new Scope('function', scope, scope.sink);
    for (const p of params.descendantsOfType('identifier')) {
      if (p && p.parent?.type === 'type' && p.parent.parent?.type === 'type_parameter') {
        typeScope.locals.add(p.text);
      }
    }
    for (const p of named(params)) {
      for (const t of named(p).slice(1)) {
        this.expr(t, typeScope);
      }
    }
    return typeScope;
  }

  /** Marks the function whose body defines a function, lambda or class (it may return it). */
  private definesCallable(scope: Scope): void {
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (s.kind === 'function') {
        s.definesCallables = true;
        return;
      }
    }
  }

  private functionDefinition(node: Node, scope: Scope, decorators: Node[]): void {
    this.definesCallable(scope);
    let mark = this.events.length;
    for (const d of decorators) {
      this.expr(named(d)[0], scope);
    }
    // A decorator's result (usually a wrapper it defines) is what the name holds; defaults are held too.
    const holds = this.holdsSince(mark, true) ?? [];
    mark = this.events.length;
    const outer = this.typeParameterScope(node, scope);
    const parameters = field(node, 'parameters');
    this.parameterDefaults(parameters, outer);
    holds.push(...(this.holdsSince(mark) ?? []));
    this.expr(field(node, 'return_type'), outer);

    const { sink, owner } = this.functionSink(scope);
    const inner = new Scope('function', outer, sink);
    this.parameterNames(parameters, inner);
    const body = field(node, 'body');
    this.collectLocals(named(body), inner);
    this.body(body, inner);
    if (owner) {
      this.describeFunction(owner.deferred, inner, body);
      const ownState = decorators.some(isCacheDecorator)
        ? 'cache'
        : changedMutableDefault(parameters, inner)
          ? 'default'
          : undefined;
      if (ownState) {
        owner.deferred.ownState = ownState;
      }
    }

    this.write(field(node, 'name')!, scope, 'bind', { deferred: owner?.deferred, holds });
  }

  /** What a caller needs to know beyond the body's globals: parameters changed, functions returned. */
  private describeFunction(deferred: Deferred, inner: Scope, body: Node | null): void {
    if (inner.paramMutations) {
      deferred.params = inner.params;
      deferred.mutates = [...inner.paramMutations].map(([param, how]) => ({ param, how }));
    }
    // A parameter passed on to another function (`def f(p): g(p)`): the flow maps it to the caller's argument.
    const passesParam = (c: CallInfo | undefined) =>
      !!c &&
      [...(c.args ?? []), ...Object.values(c.keywords ?? {})].some(
        a => a !== null && !!inner.params?.includes(a)
      );
    if (!deferred.params && deferred.reads.some(r => passesParam(r.call))) {
      deferred.params = inner.params;
    }
    if (inner.definesCallables && body) {
      for (const r of body.descendantsOfType('return_statement')) {
        const value = r && named(r)[0];
        if (
          value &&
          (value.type === 'lambda' || (value.type === 'identifier' && inner.locals.has(value.text)))
        ) {
          deferred.makesCallables = true;
        }
      }
    }
  }

  private classDefinition(node: Node, scope: Scope, decorators: Node[]): void {
    this.definesCallable(scope);
    for (const d of decorators) {
      this.expr(named(d)[0], scope);
    }
    const outer = this.typeParameterScope(node, scope);
    const mark = this.events.length;
    this.expr(field(node, 'superclasses'), outer);
    const bases = this.holdsSince(mark);
    const classScope = new Scope('class', outer, scope.sink);
    const record: ClassRecord = { deferred: { reads: [], writes: [], makesCallables: true } };
    if (scope.sink.kind === 'now') {
      this.classes.set(classScope, record);
    }
    this.body(field(node, 'body'), classScope);
    // A base class defined in the notebook brings its methods along.
    this.write(field(node, 'name')!, scope, 'bind', {
      deferred: record.deferred,
      holds: bases
    });
  }

  private parameterDefaults(parameters: Node | null, scope: Scope): void {
    for (const p of named(parameters)) {
      this.expr(field(p, 'value'), scope);
      this.expr(field(p, 'type'), scope);
    }
  }

  private parameterNames(parameters: Node | null, scope: Scope): void {
    scope.params = [];
    for (const p of named(parameters)) {
      const name =
        p.type === 'identifier' ? p : (field(p, 'name') ?? named(p).find(c => c.type === 'identifier'));
      if (name) {
        scope.locals.add(name.text);
        scope.params.push(name.text);
      }
    }
  }

  /** Python's rule: a name bound anywhere in a function body is local to all of it. */
  private collectLocals(statements: Node[], scope: Scope): void {
    const bindTargets = (t: Node | null): void => {
      if (!t) {
        return;
      }
      if (t.type === 'identifier') {
        scope.locals.add(t.text);
      } else if (t.type !== 'attribute' && t.type !== 'subscript') {
        named(t).forEach(bindTargets);
      }
    };
    const visit = (n: Node): void => {
      const type = n.type;
      switch (type) {
        case 'global_statement':
          named(n).forEach(i => scope.globals.add(i.text));
          return;
        case 'nonlocal_statement':
          named(n).forEach(i => scope.nonlocals.add(i.text));
          return;
        case 'function_definition':
        case 'class_definition':
          bindTargets(field(n, 'name'));
          return;
        case 'lambda':
          return;
        case 'expression_statement':
          for (const child of named(n)) {
            for (let a: Node | null = child; a && /assignment$/.test(a.type); a = field(a, 'right')) {
              bindTargets(field(a, 'left'));
            }
          }
          // Below a simple statement only a walrus can bind a name.
          if (!n.text.includes(':=')) {
            return;
          }
          break;
        case 'return_statement':
        case 'assert_statement':
        case 'raise_statement':
          if (!n.text.includes(':=')) {
            return;
          }
          break;
        case 'for_statement':
          bindTargets(field(n, 'left'));
          break;
        case 'named_expression':
          bindTargets(field(n, 'name'));
          break;
        case 'as_pattern_target':
          named(n).forEach(bindTargets);
          return;
        case 'import_statement':
        case 'import_from_statement': {
          const moduleId = field(n, 'module_name')?.id;
          for (const i of named(n)) {
            const itemType = i.type;
            if (itemType === 'aliased_import') {
              bindTargets(field(i, 'alias'));
            } else if (itemType === 'dotted_name' && i.id !== moduleId) {
              const parts = named(i);
              bindTargets(type === 'import_statement' ? parts[0] : parts[parts.length - 1]);
            }
          }
          return;
        }
        case 'delete_statement':
          named(n).forEach(bindTargets);
          return;
        case 'case_pattern':
          for (const id of n.descendantsOfType('identifier')) {
            if (id && id.parent?.type === 'dotted_name' && named(id.parent).length === 1) {
              scope.locals.add(id.text);
            }
          }
          return;
      }
      for (const child of named(n)) {
        visit(child);
      }
    };
    statements.forEach(visit);
    for (const g of scope.globals) {
      scope.locals.delete(g);
    }
  }

  // --- expressions ---------------------------------------------------------

  private expr(node: Node | null | undefined, scope: Scope, owner: Owner = null): void {
    if (!node) {
      return;
    }
    switch (node.type) {
      case 'identifier':
        this.read(node, scope);
        return;
      case 'attribute':
        this.expr(field(node, 'object'), scope);
        return;
      case 'keyword_argument':
        this.expr(field(node, 'value'), scope);
        return;
      case 'conditional_expression': {
        // `a if b else c` evaluates b first.
        const [body, condition, orelse] = named(node);
        this.expr(condition, scope);
        this.expr(body, scope);
        this.expr(orelse, scope);
        return;
      }
      case 'call':
        this.call(node, scope);
        return;
      case 'lambda':
        this.lambda(node, scope, owner);
        return;
      case 'named_expression': {
        this.expr(field(node, 'value'), scope);
        this.write(field(node, 'name')!, scope.walrusTarget(), 'bind');
        return;
      }
      case 'list_comprehension':
      case 'set_comprehension':
      case 'dictionary_comprehension':
      case 'generator_expression':
        this.comprehension(node, scope);
        return;
      case 'string':
      case 'concatenated_string':
        if (!/^[rRbBuU]{0,2}[fF]|\s[rRbBuU]{0,2}[fF]['"]/.test(node.text)) {
          return; // not an f-string: nothing is evaluated inside
        }
        for (const i of node.descendantsOfType(['interpolation'])) {
          if (i && i.parent && (i.parent.id === node.id || i.parent.parent?.id === node.id)) {
            this.interpolation(i, scope);
          }
        }
        return;
      case 'integer':
      case 'float':
      case 'true':
      case 'false':
      case 'none':
      case 'ellipsis':
      case 'comment':
        return;
      default:
        for (const child of named(node)) {
          this.expr(child, scope, owner && CONTAINERS.has(node.type) ? owner : null);
        }
    }
  }

  private interpolation(node: Node, scope: Scope): void {
    this.expr(field(node, 'expression'), scope);
    const spec = field(node, 'format_specifier');
    for (const e of spec ? spec.descendantsOfType(['format_expression']) : []) {
      this.expr(e && field(e, 'expression'), scope);
    }
  }

  private call(node: Node, scope: Scope): void {
    const fn = field(node, 'function')!;
    const fnType = fn.type;
    const args = field(node, 'arguments');
    let root: Node | null = null;
    let attr: string | undefined;
    if (fnType === 'identifier') {
      root = fn;
    } else if (fnType === 'attribute') {
      // `a.b.c(...)`: a read of `a` with the chain `b.c`, when the chain is plain attributes.
      const parts: string[] = [];
      let n: Node | null = fn;
      while (n && n.type === 'attribute') {
        parts.push(field(n, 'attribute')?.text ?? '');
        n = field(n, 'object');
      }
      if (n?.type === 'identifier') {
        root = n;
        attr = parts.reverse().join('.');
      }
    }
    if (root) {
      // Only a plain call needs its arguments (a function that changes a parameter).
      this.read(root, scope, attr !== undefined ? { attr } : this.callInfo(args));
    } else {
      this.expr(fn, scope);
    }
    const mark = this.events.length;
    this.expr(args, scope);
    if (fnType === 'identifier') {
      const name = fn.text;
      if (DYNAMIC_CALLS.has(name) && scope.resolvesToGlobal(name) && !this.boundHere.has(name)) {
        this.issues.push({
          code: 'dynamic-namespace',
          message: `\`${name}()\` can read or create names cellpipe cannot see`,
          line: fn.startPosition.row + 1,
          column: fn.startPosition.column,
          detail: name
        });
      }
      if (FIRST_ARGUMENT_BUILTINS.has(name)) {
        this.mutateFirstArgument(args, scope);
      }
      return;
    }
    if (fnType !== 'attribute') {
      return;
    }
    const method = field(fn, 'attribute')?.text ?? '';
    // Looking at the text first spares a walk over every call's arguments.
    const inplace =
      !!args &&
      args.text.includes('inplace') &&
      named(args).some(
        a =>
          a.type === 'keyword_argument' &&
          field(a, 'name')?.text === 'inplace' &&
          field(a, 'value')?.type === 'true'
      );
    const object = field(fn, 'object')!;
    if (MUTATORS.has(method) || inplace) {
      this.mutate(object, scope, 'mutate', this.holdsSince(mark));
    } else if (!PURE_METHODS.has(method)) {
      this.mutate(object, scope, 'maybe', this.holdsSince(mark));
    }
    if (FIRST_ARGUMENT_MUTATORS.has(method)) {
      this.mutateFirstArgument(args, scope);
    }
  }

  private mutateFirstArgument(args: Node | null, scope: Scope): void {
    const first = named(args).find(a => a.type !== 'comment');
    if (first && first.type !== 'keyword_argument') {
      this.mutate(first, scope);
    }
  }

  /** The call's arguments as root names, for the flow (a function that changes its parameters). */
  private callInfo(args: Node | null): CallInfo {
    const list = named(args);
    const info: CallInfo = {};
    const positional: Array<string | null> = [];
    for (const a of list) {
      const type = a.type;
      if (type === 'keyword_argument') {
        const value = field(a, 'value');
        const r = value && rootName(value);
        if (r) {
          (info.keywords ??= {})[field(a, 'name')?.text ?? ''] = r.text;
        }
      } else if (type !== 'comment') {
        positional.push(type === 'identifier' ? a.text : (rootName(a)?.text ?? null));
      }
    }
    if (positional.some(p => p !== null)) {
      info.args = positional;
    }
    return info;
  }

  private lambda(node: Node, scope: Scope, owner: Owner): void {
    this.definesCallable(scope);
    const parameters = field(node, 'parameters');
    this.parameterDefaults(parameters, scope);
    // A lambda bound to a name runs when called; one passed along is usually called right away.
    const sink: Sink = owner ? { kind: 'later', deferred: owner.deferred } : scope.sink;
    const inner = new Scope('function', scope, sink);
    this.parameterNames(parameters, inner);
    this.expr(field(node, 'body'), inner);
    if (owner && inner.paramMutations) {
      this.describeFunction(owner.deferred, inner, null);
    }
  }

  private comprehension(node: Node, scope: Scope): void {
    const clauses = named(node).filter(n => n.type === 'for_in_clause' || n.type === 'if_clause');
    const inner = new Scope('comprehension', scope, scope.sink);
    const addTargets = (t: Node | null): void => {
      if (t?.type === 'identifier') {
        inner.locals.add(t.text);
      } else {
        named(t).forEach(addTargets);
      }
    };
    clauses.filter(c => c.type === 'for_in_clause').forEach(c => addTargets(field(c, 'left')));
    clauses.forEach((clause, i) => {
      if (clause.type === 'for_in_clause') {
        // The first iterable is evaluated in the enclosing scope.
        this.expr(field(clause, 'right'), i === 0 ? scope : inner);
      } else {
        named(clause).forEach(c => this.expr(c, inner));
      }
    });
    this.expr(field(node, 'body'), inner);
  }
}

/** The first syntax error of a tree, as an issue; null when there is none. */
export function syntaxError(tree: Tree): AnalysisIssue | null {
  if (!tree.rootNode.hasError) {
    return null;
  }
  let node: TreeSitterNode = tree.rootNode;
  for (;;) {
    const next: TreeSitterNode | undefined = node.children.find(
      (c): c is TreeSitterNode => !!c && (c.hasError || c.isMissing || c.type === 'ERROR')
    );
    if (!next || node.type === 'ERROR' || node.isMissing) {
      break;
    }
    node = next;
  }
  const snippet = node.text.split('\n')[0].slice(0, 30);
  return {
    code: 'syntax-error',
    message: node.isMissing ? `Syntax error: missing \`${node.type}\`` : `Syntax error near \`${snippet}\``,
    line: node.startPosition.row + 1,
    column: node.startPosition.column
  };
}

/** The events and issues of a cell: `root` is `tree` read by `readSyntaxTree`. */
export function analyseTree(tree: Tree, root: Node, isolated: boolean): CellAnalysis {
  const walker = new CellWalker();
  walker.analyse(root, isolated);
  const error = syntaxError(tree);
  return { events: walker.events, issues: error ? [error, ...walker.issues] : walker.issues };
}

/** `@functools.cache`, `@lru_cache`, `@functools.lru_cache(maxsize=32)`: the function keeps its results. */
function isCacheDecorator(decorator: Node): boolean {
  let callee = named(decorator)[0];
  if (callee?.type === 'call') {
    callee = field(callee, 'function') ?? callee;
  }
  const text = callee?.text.replace(/\s+/g, '') ?? '';
  return /(^|\.)lru_cache$/.test(text) || text === 'cache' || text === 'functools.cache';
}

const MUTABLE_DEFAULT = /^(\[.*\]|\{.*\}|(list|dict|set|collections\.defaultdict|defaultdict)\(.*\))$/s;

/** A parameter whose default is a list, dict or set (made once, at the def) that the body changes. */
function changedMutableDefault(parameters: Node | null, inner: Scope): boolean {
  return named(parameters).some(p => {
    const value = field(p, 'value');
    const name = field(p, 'name');
    return (
      value !== null &&
      name !== null &&
      MUTABLE_DEFAULT.test(value.text) &&
      inner.paramMutations?.has(name.text) === true
    );
  });
}
