/**
 * IPython syntax → Python, the way IPython's input transformers read it, with
 * every line kept at its place so that positions in the result are positions
 * in the cell. Lines that only do IPython things become `pass` (valid even as
 * the only statement of a block).
 */
import type { AnalysisIssue, NamePosition } from './types';

export interface Neutralised {
  /** Python source with the same lines as the cell. */
  code: string;
  /** Names the IPython syntax binds (e.g. `%%capture out`), bound after the cell runs. */
  bindsAfter: NamePosition[];
  /** The body's bindings stay local, as in `%%timeit`. */
  isolated: boolean;
  /** A cell magic whose body is not Python: nothing to analyse. */
  opaque: boolean;
  issues: AnalysisIssue[];
}

/** Cell magics whose body is Python run in the user namespace. */
const PYTHON_CELL_MAGICS = new Set(['time', 'capture', 'prun']);
/** Line magics that run their argument as a statement. */
const STATEMENT_LINE_MAGICS = new Set(['time', 'prun', 'timeit']);
/** Magics that create names cellpipe cannot see. */
const DYNAMIC_MAGICS = new Set(['run', 'store', 'load', 'load_ext', 'sx', 'system', 'env']);

const ASSIGN_FROM_ESCAPE = /^(\s*[A-Za-z_][\w.,\s*()[\]]*?=\s*)([!%].*)$/;

/** Which lines start a logical line (not inside brackets or a triple-quoted string). */
function logicalLineStarts(lines: readonly string[]): boolean[] {
  const starts: boolean[] = [];
  let depth = 0;
  let triple: string | null = null;
  let continued = false;
  for (const line of lines) {
    starts.push(depth === 0 && triple === null && !continued);
    let i = 0;
    while (i < line.length) {
      const ch = line[i];
      if (triple) {
        if (line.startsWith(triple, i)) {
          i += 3;
          triple = null;
        } else {
          i += ch === '\\' ? 2 : 1;
        }
        continue;
      }
      if (ch === '#') {
        break;
      }
      if (ch === '"' || ch === "'") {
        if (line.startsWith(ch.repeat(3), i)) {
          triple = ch.repeat(3);
          i += 3;
          continue;
        }
        // a one-line string: skip to its end
        i++;
        while (i < line.length && line[i] !== ch) {
          i += line[i] === '\\' ? 2 : 1;
        }
        i++;
        continue;
      }
      if ('([{'.includes(ch)) {
        depth++;
      } else if (')]}'.includes(ch)) {
        depth = Math.max(0, depth - 1);
      }
      i++;
    }
    continued = triple === null && line.endsWith('\\');
  }
  return starts;
}

function blank(text: string): string {
  return ' '.repeat(text.length);
}

/** A line that starts with an IPython escape, ends with `?`, or assigns from `!`/`%`: the only lines changed. */
const MAYBE_IPYTHON = /^\s*[%!?]|\?\s*$|=\s*[!%]/m;

export function neutraliseIPython(source: string): Neutralised {
  const result: Neutralised = { code: source, bindsAfter: [], isolated: false, opaque: false, issues: [] };
  if (!MAYBE_IPYTHON.test(source)) {
    return result; // plain Python, the common case: skip the line scan
  }
  const lines = source.split('\n');
  const first = lines.findIndex(l => l.trim() !== '');
  const cellMagic = first >= 0 ? /^(\s*)%%(\w+)(.*)$/.exec(lines[first]) : null;
  if (cellMagic) {
    const name = cellMagic[2];
    if (name === 'timeit') {
      result.isolated = true;
    } else if (!PYTHON_CELL_MAGICS.has(name)) {
      result.opaque = true;
      result.issues.push({
        code: 'opaque-cell-magic',
        message: `The cell runs the %%${name} cell magic`,
        line: first + 1,
        column: cellMagic[1].length,
        detail: name
      });
      result.code = lines.map(blank).join('\n');
      return result;
    }
    if (name === 'capture') {
      // %%capture [--no-stderr] [--no-stdout] [--no-display] [output]
      const args = cellMagic[3];
      const target = /(?:^|\s)([A-Za-z_]\w*)\s*$/.exec(args);
      if (target) {
        const column = lines[first].length - args.length + args.lastIndexOf(target[1]);
        result.bindsAfter.push({ name: target[1], line: first + 1, column });
      }
    }
    lines[first] = blank(lines[first]);
  }

  const starts = logicalLineStarts(lines);
  let continuing = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (continuing) {
      continuing = line.endsWith('\\');
      lines[i] = blank(line);
      continue;
    }
    if (!starts[i]) {
      continue;
    }
    const indent = /^\s*/.exec(line)![0];
    const rest = line.slice(indent.length);
    const assign = ASSIGN_FROM_ESCAPE.exec(line);
    if (assign && !/[=!<>]=/.test(assign[1].slice(-3))) {
      // `x = !cmd` / `x = %magic`: x is bound to the command's result.
      const value = 'None';
      lines[i] = assign[1] + value + blank(assign[2]).slice(value.length);
      continuing = line.endsWith('\\');
      continue;
    }
    const escape = /^(%{1}|!{1,2}|\?{1,2})/.exec(rest);
    const help = /^[A-Za-z_][\w.]*\?{1,2}\s*$/.test(rest);
    if (!escape && !help) {
      continue;
    }
    continuing = line.endsWith('\\');
    if (escape?.[1] === '%') {
      const magic = /^%(\w+)\s*(.*)$/.exec(rest);
      const name = magic?.[1] ?? '';
      if (STATEMENT_LINE_MAGICS.has(name) && magic![2].trim() !== '') {
        // `%time x = f()`: the statement runs in the user namespace; drop the magic and its options.
        const statement = magic![2].replace(/^(-\w+(\s+\S+)?\s+)*/, '');
        lines[i] = indent + blank(rest.slice(0, rest.length - statement.length)) + statement;
        continue;
      }
      if (DYNAMIC_MAGICS.has(name) && (name === 'run' || name === 'store')) {
        result.issues.push({
          code: 'dynamic-namespace',
          message: `%${name} defines names cellpipe cannot see`,
          line: i + 1,
          column: indent.length,
          detail: `%${name}`
        });
      }
    }
    lines[i] = indent + 'pass';
  }
  result.code = lines.join('\n');
  return result;
}
