/**
 * A cell's syntax tree as plain JavaScript objects, read from tree-sitter's tree in one pass.
 *
 * The analysis asks many questions of each node (its type, its fields, its text, again in each of its
 * walks). Asked of web-tree-sitter's `Node`, every question is a call into wasm and every answer a new
 * `Node` object: most of the time of analysing a long notebook. Here each named node is visited once with a
 * tree cursor, and the walks ask plain objects. Only named nodes are kept (the analysis looks at no token);
 * positions are computed from the cell's text, which tree-sitter indexes in UTF-16 code units as
 * JavaScript does.
 */
import type { Language, Tree, TreeCursor } from 'web-tree-sitter';
import type { WasmBinding } from './parser';

export interface Point {
  row: number;
  column: number;
}

/** The cell's text, and where its lines start (for positions, computed when asked). */
class SourceText {
  private lineStarts: number[] | undefined;

  constructor(readonly text: string) {}

  position(index: number): Point {
    const starts = (this.lineStarts ??= lineStarts(this.text));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= index) {
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    return { row: low, column: index - starts[low] };
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  return starts;
}

/** The subset of web-tree-sitter's `Node` that the analysis uses, for named nodes. */
export class SyntaxNode {
  parent: SyntaxNode | null = null;
  readonly namedChildren: SyntaxNode[] = [];

  constructor(
    /** Unique within the tree (its position in a preorder walk). */
    readonly id: number,
    readonly type: string,
    /** The field of its parent it fills, if any. */
    readonly field: string | null,
    readonly startIndex: number,
    readonly endIndex: number,
    private readonly source: SourceText
  ) {}

  get text(): string {
    return this.source.text.slice(this.startIndex, this.endIndex);
  }

  get startPosition(): Point {
    return this.source.position(this.startIndex);
  }

  childForFieldName(name: string): SyntaxNode | null {
    for (const child of this.namedChildren) {
      if (child.field === name) {
        return child;
      }
    }
    return null;
  }

  childrenForFieldName(name: string): SyntaxNode[] {
    return this.namedChildren.filter(c => c.field === name);
  }

  /** This node and its descendants of the given types, in preorder (as tree-sitter lists them). */
  descendantsOfType(types: string | readonly string[]): SyntaxNode[] {
    const wanted = typeof types === 'string' ? [types] : types;
    const found: SyntaxNode[] = [];
    const visit = (node: SyntaxNode): void => {
      if (wanted.includes(node.type)) {
        found.push(node);
      }
      node.namedChildren.forEach(visit);
    };
    visit(this);
    return found;
  }
}

/** The moves and questions of a tree cursor that reading a tree needs. */
interface Cursor {
  typeId(): number;
  fieldId(): number;
  startIndex(): number;
  endIndex(): number;
  firstChild(): boolean;
  nextSibling(): boolean;
  parent(): boolean;
}

/** Per language: each type id's name, whether it is named and a leaf; each field id's name. */
interface Symbols {
  types: string[];
  named: boolean[];
  leaf: boolean[];
  fields: Array<string | null>;
}

const symbolTables = new WeakMap<Language, Symbols>();

function symbols(language: Language): Symbols {
  let table = symbolTables.get(language);
  if (!table) {
    const types: string[] = [];
    const named: boolean[] = [];
    const leaf: boolean[] = [];
    for (let id = 0; id < language.types.length; id++) {
      types.push(language.types[id] || 'ERROR');
      named.push(language.nodeTypeIsNamed(id));
      leaf.push(named[id] && LEAVES.has(types[id]));
    }
    table = { types, named, leaf, fields: [...language.fields] };
    symbolTables.set(language, table);
  }
  return table;
}

/** tree-sitter's symbol of ERROR nodes (web-tree-sitter names unknown symbols ERROR too). */
const ERROR_SYMBOL = 65535;

/** Named tokens of the Python grammar: they have no children, so the cursor need not look (a call each). */
const LEAVES = new Set(['identifier', 'integer', 'float', 'true', 'false', 'none', 'comment', 'ellipsis']);

/** Reads the named nodes of `tree`, parsed from `source`, into plain objects. */
export function readSyntaxTree(tree: Tree, source: string, binding: WasmBinding | undefined): SyntaxNode {
  const cursor = tree.walk();
  try {
    return binding ? withBindingCursor(tree, cursor, binding, read) : read(publicCursor(cursor));
  } finally {
    cursor.delete();
  }

  function read(c: Cursor): SyntaxNode {
    const { types, named, leaf, fields } = symbols(tree.language);
    const text = new SourceText(source);
    let id = 0;
    const root = new SyntaxNode(id++, types[c.typeId()] ?? 'ERROR', null, c.startIndex(), c.endIndex(), text);
    const stack: SyntaxNode[] = [];
    let parent = root;
    if (!c.firstChild()) {
      return root;
    }
    for (;;) {
      const typeId = c.typeId();
      // Tokens are skipped, with anything below them: no walk of the analysis looks at them.
      if (typeId === ERROR_SYMBOL || named[typeId]) {
        const field = c.fieldId();
        const node = new SyntaxNode(
          id++,
          types[typeId] ?? 'ERROR',
          fields[field] ?? null,
          c.startIndex(),
          c.endIndex(),
          text
        );
        node.parent = parent;
        parent.namedChildren.push(node);
        if (!leaf[typeId] && c.firstChild()) {
          stack.push(parent);
          parent = node;
          continue;
        }
      }
      while (!c.nextSibling()) {
        if (stack.length === 0 || !c.parent()) {
          return root;
        }
        parent = stack.pop()!;
      }
    }
  }
}

function publicCursor(cursor: TreeCursor): Cursor {
  return {
    typeId: () => cursor.nodeTypeId,
    fieldId: () => cursor.currentFieldId,
    startIndex: () => cursor.startIndex,
    endIndex: () => cursor.endIndex,
    firstChild: () => cursor.gotoFirstChild(),
    nextSibling: () => cursor.gotoNextSibling(),
    parent: () => cursor.gotoParent()
  };
}

/** The internal handles of web-tree-sitter's objects: the addresses in wasm memory that its binding takes. */
interface Handles {
  [index: number]: number;
}

/**
 * The cursor moved through the binding's functions directly. web-tree-sitter copies a cursor's state into
 * the binding's transfer buffer before each call and back after it; between the calls of one walk nothing
 * else uses the buffer, so the state stays there, and each move or question is one call.
 */
function withBindingCursor<T>(
  tree: Tree,
  cursor: TreeCursor,
  binding: WasmBinding,
  read: (c: Cursor) => T
): T {
  const address = (tree as unknown as Handles)[0];
  const state = cursor as unknown as Handles;
  const buffer = binding._ts_init() >> 2;
  const heap = binding.HEAP32;
  for (let i = 0; i < 4; i++) {
    heap[buffer + i] = state[i];
  }
  try {
    return read({
      typeId: () => binding._ts_tree_cursor_current_node_type_id_wasm(address),
      fieldId: () => binding._ts_tree_cursor_current_field_id_wasm(address),
      startIndex: () => binding._ts_tree_cursor_start_index_wasm(address),
      endIndex: () => binding._ts_tree_cursor_end_index_wasm(address),
      firstChild: () => binding._ts_tree_cursor_goto_first_child_wasm(address) === 1,
      nextSibling: () => binding._ts_tree_cursor_goto_next_sibling_wasm(address) === 1,
      parent: () => binding._ts_tree_cursor_goto_parent_wasm(address) === 1
    });
  } finally {
    // A move may have grown the cursor's stack (moved it in memory): the cursor frees what it now holds.
    const now = binding.HEAP32;
    for (let i = 0; i < 4; i++) {
      state[i] = now[buffer + i];
    }
  }
}
