/**
 * The Python analyser: one parser, and cell results memoised by source text
 * so that re-analysing a notebook after an edit parses only the edited cell.
 */
import type { Parser } from 'web-tree-sitter';
import { analyseTree } from './cell-analysis';
import { neutraliseIPython } from './ipython';
import { nestingProblem } from './nesting';
import { createPythonParser, LocateWasm, wasmBinding } from './parser';
import { readSyntaxTree } from './syntax-tree';
import type { CellAnalysis } from './types';

/** Enough for several large notebooks open at once, small enough to bound memory. */
const CACHE_SIZE = 5000;

export class PythonAnalyser {
  private readonly cache = new Map<string, CellAnalysis>();

  private constructor(readonly parser: Parser) {}

  static async create(locate: LocateWasm): Promise<PythonAnalyser> {
    return new PythonAnalyser(await createPythonParser(locate));
  }

  analyseCell(source: string): CellAnalysis {
    const cached = this.cache.get(source);
    if (cached) {
      // Refresh its place in the least-recently-used order.
      this.cache.delete(source);
      this.cache.set(source, cached);
      return cached;
    }
    const result = this.analyseUncached(source);
    this.cache.set(source, result);
    if (this.cache.size > CACHE_SIZE) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    return result;
  }

  private analyseUncached(source: string): CellAnalysis {
    const ipython = neutraliseIPython(source);
    if (ipython.opaque) {
      return { events: [], issues: ipython.issues };
    }
    const tree = this.parser.parse(ipython.code);
    if (!tree) {
      throw new Error('tree-sitter returned no tree');
    }
    try {
      // Python refuses the cell as it is: say so as it would, and walk no further (the walk recurses).
      const refused = nestingProblem(tree, ipython.code);
      if (refused) {
        return { events: [], issues: [refused, ...ipython.issues] };
      }
      const root = readSyntaxTree(tree, ipython.code, wasmBinding());
      const result = walkWithin(() => analyseTree(tree, root, ipython.isolated));
      for (const name of ipython.bindsAfter) {
        result.events.push({ kind: 'write', how: 'bind', ...name });
      }
      result.issues.push(...ipython.issues);
      return result;
    } finally {
      tree.delete();
    }
  }
}

/**
 * Runs the recursive walk. Python accepts nesting up to MAX_EXPRESSION_DEPTH, which a JavaScript stack
 * holds for every construct we know of; if one does not, the cell gets an error diagnostic, never a crash.
 */
function walkWithin(walk: () => CellAnalysis): CellAnalysis {
  try {
    return walk();
  } catch (err) {
    if (err instanceof RangeError) {
      return {
        events: [],
        issues: [
          {
            code: 'syntax-error',
            message:
              'The cell is nested too deeply for cellpipe to analyse it; split its expressions into smaller ones',
            line: 1,
            column: 0
          }
        ]
      };
    }
    throw err;
  }
}
