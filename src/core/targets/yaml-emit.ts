/**
 * A small deterministic YAML emitter for the cluster targets (KFP IR, Argo
 * Workflow). The `yaml` npm package is not installed in this checkout, so the
 * core writes the subset it needs itself: block maps and sequences, plain
 * scalars only where every YAML 1.1 and 1.2 reader agrees on their type,
 * double-quoted (JSON-style) strings otherwise, literal blocks for readable
 * multi-line text, and `#` comments. Swapping in `yaml.stringify` later is a
 * change to this file only.
 */

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

export interface YamlOptions {
  /** Sort map keys (the KFP SDK does, through PyYAML's sort_keys). */
  sortKeys?: boolean;
}

/** Words that YAML 1.1 readers (PyYAML, Go's yaml.v2) read as booleans or null. */
const RESERVED = /^(?:y|n|yes|no|on|off|true|false|null|~|=|<<)$/i;
/** Text a reader could take for a number (ints, floats, octal, hex, sexagesimal, .inf). */
const NUMBER_LIKE =
  /^[-+]?(?:[0-9][0-9_:]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|0[xob][0-9a-fA-F_]+|\.(?:inf|nan))$/i;
/** Plain scalars we allow: start with a letter, `/` or `_`, no `: `, ` #` or characters with YAML meaning. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_ ./=@()+-]*(?::[A-Za-z0-9_./=@()+-]+)*$/;
/** What a YAML stream may contain unescaped (YAML 1.1 printable set, minus the line separators). */
const PRINTABLE = /^[\t\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$/;

function isPlainSafe(text: string): boolean {
  return (
    text.length > 0 &&
    PLAIN.test(text) &&
    !RESERVED.test(text) &&
    !NUMBER_LIKE.test(text) &&
    !text.endsWith(' ') &&
    !text.includes('  ')
  );
}

/** A YAML double-quoted string: JSON's escapes plus \uXXXX for anything a reader might not take raw. */
export function quoted(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (ch === '\n') {
      out += '\\n';
    } else if (ch === '\t') {
      out += '\\t';
    } else if (code > 0xffff) {
      out += ch;
    } else if (PRINTABLE.test(ch) && ch !== '\t') {
      out += ch;
    } else {
      out += '\\u' + code.toString(16).padStart(4, '0');
    }
  }
  return `"${out}"`;
}

function scalarKey(key: string): string {
  return isPlainSafe(key) && !key.includes(' ') ? key : quoted(key);
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) {
    return '.nan';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? '.inf' : '-.inf';
  }
  const text = String(n);
  // YAML 1.1 floats need a dot before the exponent: 1e-7 would be read as a string.
  return /e/.test(text) && !text.includes('.') ? text.replace('e', '.0e') : text;
}

/** A literal block (`|`), when the text is multi-line and every character may appear raw. */
function literalBlock(text: string, indent: string): string | null {
  if (!text.includes('\n') || !PRINTABLE.test(text) || text.includes('\t')) {
    return null;
  }
  const trailing = /\n*$/.exec(text)![0].length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing > 0 ? text.slice(0, text.length - trailing) : text;
  const lines = body.split('\n');
  // Readers take the block's indentation from its first non-empty line: it must not start with a space.
  if (/^ /.test(lines.find(l => l !== '') ?? '')) {
    return null;
  }
  const extra = Array.from({ length: Math.max(0, trailing - 1) }, () => '');
  const rendered = [...lines, ...extra].map(l => (l === '' ? '' : indent + '  ' + l));
  return `|${chomp}\n${rendered.join('\n')}`;
}

function scalar(value: null | boolean | number | string, indent: string): string {
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (isPlainSafe(value)) {
    return value;
  }
  return literalBlock(value, indent) ?? quoted(value);
}

function isCollection(value: YamlValue): value is YamlValue[] | { [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null;
}

function isEmpty(value: YamlValue[] | { [key: string]: YamlValue }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function entries(value: { [key: string]: YamlValue }, options: YamlOptions): Array<[string, YamlValue]> {
  const list = Object.entries(value);
  return options.sortKeys ? list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : list;
}

/** Lines of a block node at `indent`. */
function block(
  value: YamlValue[] | { [key: string]: YamlValue },
  indent: string,
  options: YamlOptions
): string[] {
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item) && !isEmpty(item)) {
        const inner = block(item, indent + '  ', options);
        // The first line of the item sits after "- ".
        lines.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
      } else {
        lines.push(`${indent}- ${inline(item, indent + '  ', options)}`);
      }
    }
    return lines;
  }
  for (const [key, item] of entries(value, options)) {
    if (isCollection(item) && !isEmpty(item)) {
      lines.push(`${indent}${scalarKey(key)}:`);
      // A sequence under a key starts at the key's column, as PyYAML (the KFP SDK) and kubectl write it.
      lines.push(...block(item, Array.isArray(item) ? indent : indent + '  ', options));
    } else {
      lines.push(`${indent}${scalarKey(key)}: ${inline(item, indent, options)}`);
    }
  }
  return lines;
}

function inline(value: YamlValue, indent: string, options: YamlOptions): string {
  if (Array.isArray(value)) {
    return '[]';
  }
  if (isCollection(value)) {
    void options;
    return '{}';
  }
  return scalar(value, indent);
}

/** One YAML document (no `---`), ending with a newline. */
export function toYaml(value: YamlValue, options: YamlOptions = {}): string {
  if (!isCollection(value) || isEmpty(value)) {
    return inline(value, '', options) + '\n';
  }
  return block(value, '', options).join('\n') + '\n';
}

/** `# ` comment lines (a comment cannot be broken out of: each line of the text gets its own `#`). */
export function yamlComment(text: string): string {
  return (
    text
      .split(/\r\n|\r|\n|\u2028|\u2029|\u0085/)
      .map(line => (line ? `# ${line}` : '#'))
      .join('\n') + '\n'
  );
}
