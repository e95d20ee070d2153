/** Diagnostics with their cell and line (click to jump there), and one-click fixes for missing upstream steps. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section } from './fields';

export function DiagnosticsSection(props: {
  session: NotebookPipeline;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, trans } = props;
  const analysis = session.pipeline.analysis;
  if (!analysis) {
    return null;
  }
  const shown = analysis.diagnostics.filter(d => d.severity !== 'info' || d.code !== 'no-steps');
  return (
    <Section name="diagnostics" title={trans.__('Problems (%1)', shown.length)}>
      {analysis.suggestions.map(s => (
        <div key={`${s.from}->${s.to}`} className="jp-cellpipe-Suggestion">
          <span>{trans.__('Step %1 reads %2 from step %3.', s.to, s.names.join(', '), s.from)}</span>
          <button
            className="jp-mod-styled jp-mod-accept jp-Button"
            title={trans.__('Make %1 an upstream step of %2 (tag prev:%1)', s.from, s.to)}
            onClick={() => session.pipeline.applySuggestion(s)}
          >
            {trans.__('Add prev:%1', s.from)}
          </button>
        </div>
      ))}
      {shown.length === 0 ? (
        <p className="jp-cellpipe-Hint">
          {trans.__('No problems: the pipeline computes what the notebook computes.')}
        </p>
      ) : (
        <ul className="jp-cellpipe-Diagnostics">
          {shown.map((d, i) => (
            <li key={i} data-severity={d.severity} data-code={d.code}>
              <button
                className="jp-cellpipe-Diagnostic"
                disabled={d.cell === null}
                onClick={() => void session.revealDiagnostic(d)}
                title={d.line === null ? trans.__('Go to the cell') : trans.__('Go to the line')}
              >
                <span className="jp-cellpipe-Diagnostic-where">
                  {d.cell === null
                    ? trans.__('notebook')
                    : d.line === null
                      ? trans.__('cell %1', d.cell + 1)
                      : trans.__('cell %1, line %2', d.cell + 1, d.line)}
                </span>
                <span className="jp-cellpipe-Diagnostic-message">{d.message}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
