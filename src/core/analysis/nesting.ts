/**
 * Nesting that Python refuses, found before any recursive walk of the tree (one iterative pass), so that a
 * cell such as `x = ((((…))))` 5000 deep gets the diagnostic Python would give instead of exhausting the
 * JavaScript stack. The limits are CPython 3.11's, measured where a notebook's cells run (IPython):
 *
 * - brackets: the tokenizer refuses more than 200 open `(`, `[`, `{` at once (MAXLEVEL):
 *   "SyntaxError: too many nested parentheses";
 * - indentation: 100 levels (MAXINDENT): "IndentationError: too many levels of indentation";
 * - expression depth: IPython compiles a cell from its AST object, and turning that object back into the
 *   compiler's tree recurses once per node under the interpreter's recursion limit (1000 frames, less the
 *   ~30 the kernel itself uses): "RecursionError: maximum recursion depth exceeded while traversing 'expr'
 *   node". Measured on ipykernel with Python 3.11: 973 nested expressions compile, 974 do not (the step
 *   runtime allows ~986); plain `python file.py` allows ~2990, but notebooks run on IPython; beyond
 *   ~2980 the parser gives up (MemoryError).
 *
 * Depth is counted as CPython's AST nests, not as tree-sitter's tree does: parentheses, blocks and the
 * assignment inside an expression statement add no level; `a and b and c` is one node; each `elif` nests
 * one level deeper than the `if` or `elif` before it.
 */
import type { Tree, TreeCursor } from 'web-tree-sitter';
import type { AnalysisIssue } from './types';

export const MAX_BRACKETS = 200;
export const MAX_INDENT = 100;
/** The deepest expression nesting a notebook kernel compiles (see above). */
export const MAX_EXPRESSION_DEPTH = 973;
/**
 * Deeper than this, Python's parser itself gives up (its stack holds about 6000 rule levels, two per
 * level of nesting): MemoryError, or RecursionError while building the AST objects.
 */
export const MAX_PARSER_DEPTH = 2980;

const OPEN = new Set(['(', '[', '{']);
const CLOSE = new Set([')', ']', '}']);

/** Named nodes that are no node of CPython's AST (their children take their level). */
const NO_LEVEL = new Set([
  'module',
  'block',
  'parenthesized_expression',
  'assignment',
  'augmented_assignment',
  'argument_list',
  'pair',
  'else_clause',
  'finally_clause',
  'with_clause',
  'decorated_definition',
  'comment',
  'string_start',
  'string_content',
  'string_end',
  'escape_sequence'
]);

interface Level {
  depth: number;
  indent: number;
  type: string;
  row: number;
  /** `and`/`or` of a boolean_operator (its chain is one AST node). */
  operator?: string;
  /** How many elif clauses came before among this node's children. */
  elifs: number;
}

/** The first nesting of the cell that Python would refuse, as an issue at its line; null when there is none. */
export function nestingProblem(tree: Tree, code: string): AnalysisIssue | null {
  if (withinLimits(tree, code)) {
    return null;
  }
  const cursor = tree.walk();
  try {
    return scan(cursor);
  } finally {
    cursor.delete();
  }
}

/**
 * Whether the cell is too small to reach any limit, known without walking the tree (most cells): each open
 * bracket is a character, each level of indentation starts on a line of its own, and each level of depth
 * is at least one node of the tree.
 */
function withinLimits(tree: Tree, code: string): boolean {
  let brackets = 0;
  let lines = 1;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 0x28 || c === 0x5b || c === 0x7b) {
      brackets++;
    } else if (c === 0x0a) {
      lines++;
    }
  }
  return (
    brackets <= MAX_BRACKETS && lines < MAX_INDENT && tree.rootNode.descendantCount <= MAX_EXPRESSION_DEPTH
  );
}

function scan(cursor: TreeCursor): AnalysisIssue | null {
  const levels: Level[] = [];
  let brackets = 0;
  let deepest: { depth: number; row: number; column: number } | null = null;
  for (;;) {
    const type = cursor.nodeType;
    const position = cursor.startPosition;
    if (!cursor.nodeIsNamed) {
      if (OPEN.has(type) && ++brackets > MAX_BRACKETS) {
        return issue('too many nested parentheses', position.row, position.column, 'SyntaxError');
      }
      if (CLOSE.has(type) && brackets > 0) {
        brackets--;
      }
    }
    const parent = levels[levels.length - 1];
    const level: Level = {
      depth: parent?.depth ?? 0,
      indent: parent?.indent ?? 0,
      type,
      row: position.row,
      elifs: 0
    };
    if (cursor.nodeIsNamed && !NO_LEVEL.has(type)) {
      const operator =
        type === 'boolean_operator' ? cursor.currentNode.childForFieldName('operator')?.type : undefined;
      level.operator = operator;
      // The chain `a and b and c` is one BoolOp: an operand with the same operator adds no level.
      const sameChain =
        operator !== undefined && parent?.type === 'boolean_operator' && parent.operator === operator;
      level.depth += sameChain ? 0 : 1;
    }
    if (type === 'elif_clause' && parent) {
      // `elif` is an If nested in the orelse of the one before it.
      level.depth += ++parent.elifs;
    }
    if (type === 'block' && parent && position.row > parent.row) {
      level.indent += 1;
      if (level.indent >= MAX_INDENT) {
        return issue('too many levels of indentation', position.row, position.column, 'IndentationError');
      }
    }
    if (level.depth > (deepest?.depth ?? MAX_EXPRESSION_DEPTH)) {
      deepest = { depth: level.depth, row: position.row, column: position.column };
    }
    // Strings are one token for Python's tokenizer: the brackets of an f-string's fields do not count.
    const descend = type !== 'string' && cursor.gotoFirstChild();
    if (descend) {
      levels.push(level);
      continue;
    }
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent()) {
        return deepest ? tooDeep(deepest) : null;
      }
      levels.pop();
    }
  }
}

function tooDeep(at: { depth: number; row: number; column: number }): AnalysisIssue {
  const why =
    at.depth > MAX_PARSER_DEPTH
      ? `Python's parser gives up beyond about ${MAX_PARSER_DEPTH} levels (MemoryError, or RecursionError: ` +
        'maximum recursion depth exceeded during ast construction)'
      : `Python compiles a notebook cell only up to about ${MAX_EXPRESSION_DEPTH} (RecursionError: maximum ` +
        "recursion depth exceeded while traversing 'expr' node)";
  return issue(
    `nested ${at.depth} levels deep, and ${why}; split it into smaller expressions`,
    at.row,
    at.column,
    'RecursionError'
  );
}

function issue(what: string, row: number, column: number, kind: string): AnalysisIssue {
  return {
    code: 'syntax-error',
    message: kind === 'RecursionError' ? `The cell is ${what}` : `${kind}: ${what}`,
    line: row + 1,
    column
  };
}
