/** The pipeline-metrics cell: one `print(name)` (or a bare `name`) per line. */
import { Diagnostic, diagnostic } from '../diagnostics';

export interface MetricLine {
  name: string;
  line: number;
}

const PRINT = /^print\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/;
const BARE = /^([A-Za-z_][A-Za-z0-9_]*)$/;

export function parseMetrics(
  source: string,
  cell: number
): { metrics: MetricLine[]; diagnostics: Diagnostic[] } {
  const metrics: MetricLine[] = [];
  const diagnostics: Diagnostic[] = [];
  source.split('\n').forEach((text, i) => {
    const code = text.replace(/#.*$/, '').trim();
    if (code === '') {
      return;
    }
    const match = PRINT.exec(code) ?? BARE.exec(code);
    if (!match) {
      diagnostics.push(
        diagnostic(
          'error',
          'invalid-metric',
          `The pipeline-metrics cell lists one variable per line, as print(name) or name; \`${code}\` is neither.`,
          { cell, line: i + 1, column: text.length - text.trimStart().length }
        )
      );
    } else if (!metrics.some(m => m.name === match[1])) {
      metrics.push({ name: match[1], line: i + 1 });
    }
  });
  return { metrics, diagnostics };
}
