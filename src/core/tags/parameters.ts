/**
 * The pipeline-parameters cell: single-name assignments of literals, which
 * become typed pipeline parameters (overridable per run).
 */
import type { Node, Parser } from 'web-tree-sitter';
import { nestingProblem } from '../analysis/nesting';
import { Diagnostic, diagnostic } from '../diagnostics';

export type ParameterType = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict';
export type ParameterLiteral =
  number | string | boolean | ParameterLiteral[] | { [key: string]: ParameterLiteral };

export interface ParameterValue {
  type: ParameterType;
  value: ParameterLiteral;
}

/** Thrown by the literal reader with the node that is not a literal. */
class NotALiteral extends Error {
  constructor(
    readonly node: Node,
    message: string
  ) {
    super(message);
  }
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': ''
};

function decodeEscape(text: string): string {
  const body = text.slice(1);
  if (body[0] === 'x' || body[0] === 'u' || body[0] === 'U') {
    return String.fromCodePoint(parseInt(body.slice(1), 16));
  }
  return ESCAPES[body] ?? text;
}

function readString(node: Node): string {
  const start = node.children.find(c => c.type === 'string_start')?.text ?? '';
  const prefix = start.replace(/['"]/g, '').toLowerCase();
  if (prefix.includes('f') || prefix.includes('b')) {
    throw new NotALiteral(node, 'f-strings and bytes are not parameter values; use a plain string');
  }
  const raw = prefix.includes('r');
  return node.children
    .map(c => {
      if (c?.type === 'interpolation') {
        throw new NotALiteral(c, 'f-strings are not parameter values');
      }
      return c?.type === 'string_content' ? readContent(c, raw) : '';
    })
    .join('');
}

/** String content with its escape sequences (child nodes) decoded, unless the string is raw. */
function readContent(content: Node, raw: boolean): string {
  if (raw) {
    return content.text;
  }
  let text = '';
  let at = content.startIndex;
  for (const escape of content.children) {
    if (escape?.type === 'escape_sequence') {
      text +=
        content.text.slice(at - content.startIndex, escape.startIndex - content.startIndex) +
        decodeEscape(escape.text);
      at = escape.endIndex;
    }
  }
  return text + content.text.slice(at - content.startIndex);
}

function readLiteral(node: Node): ParameterValue {
  switch (node.type) {
    case 'integer': {
      const n = Number(node.text.replace(/_/g, ''));
      if (!Number.isSafeInteger(n)) {
        throw new NotALiteral(node, `${node.text} is too large for a parameter`);
      }
      return { type: 'int', value: n };
    }
    case 'float':
      return { type: 'float', value: Number(node.text.replace(/_/g, '')) };
    case 'true':
    case 'false':
      return { type: 'bool', value: node.type === 'true' };
    case 'string':
      return { type: 'str', value: readString(node) };
    case 'concatenated_string':
      return { type: 'str', value: node.namedChildren.map(c => readString(c!)).join('') };
    case 'parenthesized_expression':
      return readLiteral(node.namedChildren[0]!);
    case 'unary_operator': {
      const operand = readLiteral(node.childForFieldName('argument')!);
      const op = node.childForFieldName('operator')?.text;
      if ((operand.type === 'int' || operand.type === 'float') && (op === '-' || op === '+')) {
        return {
          type: operand.type,
          value: op === '-' ? -(operand.value as number) : (operand.value as number)
        };
      }
      break;
    }
    case 'list':
    case 'tuple':
      return {
        type: 'list',
        value: node.namedChildren.filter(c => c!.type !== 'comment').map(c => readLiteral(c!).value)
      };
    case 'dictionary': {
      const value: Record<string, ParameterLiteral> = {};
      for (const pair of node.namedChildren) {
        if (pair!.type === 'comment') {
          continue;
        }
        if (pair!.type !== 'pair') {
          throw new NotALiteral(pair!, 'a parameter dict holds only "key": value pairs');
        }
        const key = readLiteral(pair!.childForFieldName('key')!);
        if (key.type !== 'str') {
          throw new NotALiteral(pair!, 'parameter dict keys must be strings');
        }
        value[key.value as string] = readLiteral(pair!.childForFieldName('value')!).value;
      }
      return { type: 'dict', value };
    }
    case 'none':
      throw new NotALiteral(node, 'None has no type a pipeline parameter can carry; give a default value');
  }
  throw new NotALiteral(node, `\`${node.text}\` is not a literal`);
}

export function parseParameters(
  parser: Parser,
  source: string,
  cell: number
): { parameters: Record<string, ParameterValue>; diagnostics: Diagnostic[] } {
  const parameters: Record<string, ParameterValue> = {};
  const diagnostics: Diagnostic[] = [];
  const tree = parser.parse(source);
  if (!tree) {
    return { parameters, diagnostics };
  }
  const invalid = (node: Node, why: string) =>
    diagnostics.push(
      diagnostic(
        'error',
        'invalid-parameter',
        `Pipeline parameters are assignments of one name to a literal (int, float, str, bool, list, dict): ${why}.`,
        { cell, line: node.startPosition.row + 1, column: node.startPosition.column }
      )
    );
  try {
    // Nesting Python refuses: the cell's analysis reports it (every parameters cell is analysed too).
    if (nestingProblem(tree, source)) {
      return { parameters, diagnostics };
    }
    for (const statement of tree.rootNode.namedChildren) {
      if (!statement || statement.type === 'comment') {
        continue;
      }
      const assignment = statement.type === 'expression_statement' ? statement.namedChildren[0] : null;
      if (!assignment || assignment.type !== 'assignment') {
        invalid(statement, `\`${statement.text.split('\n')[0]}\` is not an assignment`);
        continue;
      }
      const left = assignment.childForFieldName('left')!;
      const right = assignment.childForFieldName('right');
      if (left.type !== 'identifier' || !right || right.type === 'assignment') {
        invalid(assignment, `assign one name at a time (\`${assignment.text.split('\n')[0]}\`)`);
        continue;
      }
      try {
        parameters[left.text] = readLiteral(right);
      } catch (err) {
        if (err instanceof NotALiteral) {
          invalid(err.node, `${left.text}: ${err.message}`);
        } else {
          throw err;
        }
      }
    }
  } finally {
    tree.delete();
  }
  return { parameters, diagnostics };
}

/**
 * A typed parameter as a Python literal: a float stays a float even when its value is whole (`1.0`, not
 * `1`, which Python would read as an int: `f"{C}"` and `type(C)` would differ from the notebook's).
 */
export function formatParameter(p: ParameterValue): string {
  if (p.type === 'float' && typeof p.value === 'number' && Number.isInteger(p.value)) {
    return `${p.value}.0`;
  }
  return formatParameterValue(p.value);
}

/** The Python literal for a value (parses back to the same value). */
export function formatParameterValue(value: ParameterLiteral): string {
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : formatFloat(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value); // a JSON string is a valid Python string literal
  }
  if (Array.isArray(value)) {
    return `[${value.map(formatParameterValue).join(', ')}]`;
  }
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${formatParameterValue(v)}`)
    .join(', ')}}`;
}

function formatFloat(value: number): string {
  if (Number.isNaN(value)) {
    return "float('nan')";
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? "float('inf')" : "float('-inf')";
  }
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** Parses `--param NAME=VALUE` text as the declared parameter's type. */
export function parseParameterOverride(
  text: string,
  declared: Record<string, ParameterValue>
): { name: string; value: ParameterValue } {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new Error(`--param ${text}: write NAME=VALUE`);
  }
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const param = declared[name];
  if (!param) {
    const known = Object.keys(declared);
    throw new Error(
      `--param ${name}: the notebook has no pipeline parameter "${name}"` +
        (known.length > 0 ? ` (it has ${known.join(', ')})` : '')
    );
  }
  const fail = (): never => {
    throw new Error(`--param ${name}=${raw}: expected a${param.type === 'int' ? 'n' : ''} ${param.type}`);
  };
  switch (param.type) {
    case 'str':
      return { name, value: { type: 'str', value: raw } };
    case 'int':
      return /^[+-]?\d+$/.test(raw.trim()) ? { name, value: { type: 'int', value: Number(raw) } } : fail();
    case 'float': {
      const n = Number(raw);
      return raw.trim() !== '' && !Number.isNaN(n) ? { name, value: { type: 'float', value: n } } : fail();
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      return ['true', '1', 'yes'].includes(v)
        ? { name, value: { type: 'bool', value: true } }
        : ['false', '0', 'no'].includes(v)
          ? { name, value: { type: 'bool', value: false } }
          : fail();
    }
    default: {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return fail();
      }
      const ok =
        param.type === 'list'
          ? Array.isArray(parsed)
          : typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      return ok ? { name, value: { type: param.type, value: parsed as ParameterLiteral } } : fail();
    }
  }
}

/**
 * A parameter as text that reads back to the same typed value: what `--param NAME=TEXT` and the
 * sidebar's fields take (a string as it is, a whole float with `.0`, lists and dicts as JSON), and what
 * Argo passes and runtime.py `_parameter_from_text` reads.
 */
export function parameterText(value: ParameterValue): string {
  const v = value.value;
  if (value.type === 'str' && typeof v === 'string') {
    return v;
  }
  if (value.type === 'float' && typeof v === 'number') {
    if (!Number.isFinite(v)) {
      return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    }
    const text = String(v);
    return /[.e]/.test(text) ? text : `${text}.0`;
  }
  if (typeof v === 'boolean') {
    return v ? 'true' : 'false';
  }
  return JSON.stringify(v);
}
