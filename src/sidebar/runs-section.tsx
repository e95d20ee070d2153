/** The notebook's runs: status, start, duration, parameters, metrics compared as a table and a small chart. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { compareMetrics, RunView, runSeconds } from '../run/run-state';
import { Section } from './fields';

export function RunsSection(props: { session: NotebookPipeline; trans: TranslationBundle }): JSX.Element {
  const { session, trans } = props;
  const runs = session.runs.runs;
  const current = session.runs.current;
  const { names, rows } = compareMetrics(runs);
  return (
    <Section name="runs" title={trans.__('Runs (%1)', runs.length)} open={runs.length > 0}>
      {runs.length === 0 ? (
        <p className="jp-cellpipe-Hint">{trans.__('No runs yet.')}</p>
      ) : (
        <>
          <div className="jp-cellpipe-RunsTable-scroll">
            <table className="jp-cellpipe-RunsTable">
              <thead>
                <tr>
                  <th>{trans.__('Run')}</th>
                  <th>{trans.__('Status')}</th>
                  <th>{trans.__('Seconds')}</th>
                  <th>{trans.__('Parameters')}</th>
                  {names.map(n => (
                    <th key={n}>{n}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {runs.map((run, i) => (
                  <tr
                    key={run.id}
                    data-run={run.id}
                    aria-selected={run.id === current?.id}
                    onClick={() => session.runs.openRun(run.id)}
                    title={trans.__('Open this run')}
                  >
                    <td>{startTime(run)}</td>
                    <td data-status={run.status}>{trans.__(run.status)}</td>
                    <td>{run.finished ? runSeconds(run).toFixed(1) : '…'}</td>
                    <td>
                      {Object.entries(run.parameters)
                        .map(([k, v]) => `${k}=${String(v)}`)
                        .join(' ')}
                    </td>
                    {names.map(n => (
                      <td key={n} data-metric={n}>
                        {formatMetric(rows[i].values[n])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {names.map(n => (
            <MetricChart key={n} name={n} runs={runs} values={rows.map(r => r.values[n])} />
          ))}
        </>
      )}
    </Section>
  );
}

function startTime(run: RunView): string {
  const d = new Date(run.started);
  return isNaN(d.getTime()) ? run.id : d.toLocaleString();
}

export function formatMetric(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  // Six significant digits: enough to compare runs, short enough for a table cell.
  return typeof value === 'number'
    ? String(Number(value.toPrecision(6)))
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);
}

/** One metric across runs, oldest on the left: bars scaled to the largest magnitude. */
function MetricChart(props: {
  name: string;
  runs: readonly RunView[];
  values: Array<number | string | null>;
}): JSX.Element | null {
  const points = props.values
    .map((v, i) => ({ v, run: props.runs[i].id }))
    .filter((p): p is { v: number; run: string } => typeof p.v === 'number')
    .reverse();
  if (points.length < 2) {
    return null;
  }
  const max = Math.max(...points.map(p => Math.abs(p.v))) || 1;
  const width = 240;
  const height = 48;
  const bar = width / points.length;
  return (
    <figure className="jp-cellpipe-MetricChart" data-metric={props.name}>
      <figcaption>{props.name}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        height={height}
        preserveAspectRatio="none"
        role="img"
        aria-label={props.name}
      >
        {points.map((p, i) => {
          const h = Math.max(1, (Math.abs(p.v) / max) * (height - 4));
          return (
            <rect key={p.run} x={i * bar + 2} y={height - h} width={Math.max(2, bar - 4)} height={h}>
              <title>{`${p.run}: ${p.v}`}</title>
            </rect>
          );
        })}
      </svg>
    </figure>
  );
}
