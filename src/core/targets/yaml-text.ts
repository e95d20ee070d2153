/**
 * The cluster targets' YAML, written by the `yaml` library: deterministic
 * (keys in insertion order or sorted, no line folding) and safe for YAML 1.1
 * readers (PyYAML in the KFP SDK, Go in Argo): a string such as `yes`, `on` or
 * `0755` is quoted, so no reader takes it for a boolean or a number.
 */
import { Document } from 'yaml';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

export interface YamlOptions {
  /** Sort map keys (the KFP SDK does, through PyYAML's sort_keys). */
  sortKeys?: boolean;
  /** Comment lines before the document; every line is commented, so text cannot break out. */
  comment?: string;
}

/** One YAML document (no `---`), ending with a newline; `value` is a typed document or a YamlValue. */
export function toYaml(value: object, options: YamlOptions = {}): string {
  // No anchors and aliases: a value used twice is written twice, as Argo and the KFP SDK expect.
  const doc = new Document(value, {
    version: '1.1',
    sortMapEntries: options.sortKeys ?? false,
    aliasDuplicateObjects: false
  });
  if (options.comment !== undefined) {
    // A line break of any kind in the comment starts a new comment line, never YAML.
    doc.commentBefore = options.comment
      .split(/\r\n|\r|\n|\u2028|\u2029|\u0085/)
      .map(line => (line ? ` ${line}` : ''))
      .join('\n');
  }
  return doc.toString({ lineWidth: 0, blockQuote: 'literal', indentSeq: false });
}
