/**
 * Diagnostics: what the user sees before running. Every finding of the core
 * (syntax, tags, variable flow) is one of these, pointing at a cell and line.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable, kebab-case identifier (e.g. `undefined-name`); scripts and tests rely on it. */
  code: string;
  /** A message a user can act on: what is wrong and what to do. */
  message: string;
  /** Index of the cell in the notebook (0-based, counting every cell), or null for notebook-wide findings. */
  cell: number | null;
  /** 1-based line within the cell's source, or null. */
  line: number | null;
  /** 0-based column, or null. */
  column: number | null;
  /** The step the finding belongs to, when there is one. */
  step?: string;
  /** The Python name the finding is about, when there is one. */
  name?: string;
}

export function diagnostic(
  severity: Severity,
  code: string,
  message: string,
  where: Partial<Pick<Diagnostic, 'cell' | 'line' | 'column' | 'step' | 'name'>> = {}
): Diagnostic {
  const d: Diagnostic = {
    severity,
    code,
    message,
    cell: where.cell ?? null,
    line: where.line ?? null,
    column: where.column ?? null
  };
  if (where.step !== undefined) {
    d.step = where.step;
  }
  if (where.name !== undefined) {
    d.name = where.name;
  }
  return d;
}

/** Diagnostics in reading order: by cell, then line, then column, errors first. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  const key = (n: number | null) => (n === null ? -1 : n);
  return [...list].sort(
    (a, b) =>
      key(a.cell) - key(b.cell) ||
      key(a.line) - key(b.line) ||
      key(a.column) - key(b.column) ||
      rank[a.severity] - rank[b.severity] ||
      a.code.localeCompare(b.code)
  );
}

/** `file, cell 3, line 2: error [undefined-name] message`: cells and lines counted from 1, as a person does. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const place = [file];
  if (d.cell !== null) {
    place.push(`cell ${d.cell + 1}`);
  }
  if (d.line !== null) {
    place.push(`line ${d.line}`);
  }
  return `${place.join(', ')}: ${d.severity} [${d.code}] ${d.message}`;
}
