/** Findings of the per-cell analysis, as diagnostics with a severity and an actionable message. */
import type { AnalysisIssue, AnalysisIssueCode } from '../analysis/types';
import { Diagnostic, diagnostic, Severity } from '../diagnostics';

const SEVERITY: Record<AnalysisIssueCode, Severity> = {
  'syntax-error': 'error',
  'use-after-delete': 'error',
  'star-import': 'warning',
  'dynamic-namespace': 'warning',
  'opaque-cell-magic': 'info'
};

const ADVICE: Record<AnalysisIssueCode, string> = {
  'syntax-error': 'Fix the syntax; the cell cannot run as it is.',
  'use-after-delete': 'The notebook fails here too; remove the del or move the read above it.',
  'star-import':
    'cellpipe cannot tell which names it defines, so they are not passed between steps; import the names you use.',
  'dynamic-namespace':
    'Names created this way are invisible to the analysis and are not passed between steps; assign them directly.',
  'opaque-cell-magic': 'Its body is not Python, so cellpipe does not see names it reads or writes.'
};

export function issueDiagnostic(issue: AnalysisIssue, cell: number, step?: string): Diagnostic {
  return diagnostic(SEVERITY[issue.code], issue.code, `${issue.message}. ${ADVICE[issue.code]}`, {
    cell,
    line: issue.line,
    column: issue.column,
    step
  });
}
