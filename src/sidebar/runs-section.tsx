/**
 * The notebook's runs, newest first, each numbered (#1 is the oldest): status, start, duration, the
 * parameters it used and its metrics; and a chart per metric with the runs in the same order, each bar
 * labelled with its run's number. Laid out as short lines, so it reads at the sidebar's default width.
 */
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
  const number = (i: number) => runs.length - i;
  return (
    <Section name="runs" title={trans.__('Runs (%1)', runs.length)} open={runs.length > 0}>
      {runs.length === 0 ? (
        <p className="jp-cellpipe-Hint">{trans.__('No runs yet.')}</p>
      ) : (
        <>
          <ol className="jp-cellpipe-RunList" aria-label={trans.__('Runs, newest first')}>
            {runs.map((run, i) => (
              <li key={run.id} className="jp-cellpipe-RunItem" data-run={run.id}>
                <button
                  className="jp-cellpipe-RunItem-button"
                  aria-pressed={run.id === current?.id}
                  onClick={() => session.runs.openRun(run.id)}
                  title={trans.__('Open run %1', run.id)}
                >
                  <span className="jp-cellpipe-RunItem-head">
                    <span className="jp-cellpipe-RunItem-number">#{number(i)}</span>
                    <span className="jp-cellpipe-RunItem-time">{startTime(run)}</span>
                    <span className="jp-cellpipe-RunItem-status" data-status={run.status}>
                      {trans.__(run.status)}
                    </span>
                    <span className="jp-cellpipe-RunItem-seconds">
                      {run.finished ? `${runSeconds(run).toFixed(1)} s` : '…'}
                    </span>
                  </span>
                  {Object.keys(run.parameters).length > 0 && (
                    <span className="jp-cellpipe-RunItem-params">
                      {Object.entries(run.parameters)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(' · ')}
                    </span>
                  )}
                  {names.length > 0 && (
                    <span className="jp-cellpipe-RunItem-metrics">
                      {names
                        .filter(n => rows[i].values[n] !== null)
                        .map(n => (
                          <span key={n} className="jp-cellpipe-RunItem-metric" data-metric={n}>
                            <span className="jp-cellpipe-RunItem-metricName">{n}</span>{' '}
                            <span className="jp-cellpipe-RunItem-metricValue">
                              {formatMetric(rows[i].values[n])}
                            </span>
                          </span>
                        ))}
                    </span>
                  )}
                </button>
              </li>
            ))}
          </ol>
          {names.map(n => (
            <MetricChart key={n} name={n} runs={runs} values={rows.map(r => r.values[n])} trans={trans} />
          ))}
        </>
      )}
    </Section>
  );
}

/** Today: the time; earlier: the day and the time, short enough for one line. */
function startTime(run: RunView, now = new Date()): string {
  const d = new Date(run.started);
  if (isNaN(d.getTime())) {
    return run.id;
  }
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === now.toDateString()
    ? time
    : `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
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

/**
 * One metric across runs, in the list's order (newest first, on the left): a bar per run with its
 * number below it, the scale's top and bottom on the left.
 */
function MetricChart(props: {
  name: string;
  runs: readonly RunView[];
  values: Array<number | string | null>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const points = props.values
    .map((v, i) => ({ v, run: props.runs[i].id, number: props.runs.length - i }))
    .filter((p): p is { v: number; run: string; number: number } => typeof p.v === 'number');
  if (points.length < 2) {
    return null;
  }
  const max = Math.max(0, ...points.map(p => p.v));
  const min = Math.min(0, ...points.map(p => p.v));
  const span = max - min || 1;
  const axis = 34;
  const width = 240;
  const plot = 56;
  const height = plot + 16;
  const bar = (width - axis) / points.length;
  const y = (v: number) => 2 + ((max - v) / span) * (plot - 4);
  return (
    <figure className="jp-cellpipe-MetricChart" data-metric={props.name}>
      <figcaption>{trans.__('%1 by run (newest first)', props.name)}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={props.name}>
        <text className="jp-cellpipe-MetricChart-tick" x={axis - 4} y={y(max) + 4} textAnchor="end">
          {formatMetric(max)}
        </text>
        <text className="jp-cellpipe-MetricChart-tick" x={axis - 4} y={y(min)} textAnchor="end">
          {formatMetric(min)}
        </text>
        <line className="jp-cellpipe-MetricChart-axis" x1={axis} x2={axis} y1={0} y2={plot} />
        <line className="jp-cellpipe-MetricChart-axis" x1={axis} x2={width} y1={y(0)} y2={y(0)} />
        {points.map((p, i) => {
          const top = Math.min(y(p.v), y(0));
          const h = Math.max(1, Math.abs(y(p.v) - y(0)));
          const x = axis + i * bar;
          return (
            <g key={p.run} data-run={p.run}>
              <rect x={x + 2} y={top} width={Math.max(2, bar - 4)} height={h}>
                <title>{`#${p.number} (${p.run}): ${formatMetric(p.v)}`}</title>
              </rect>
              <text
                className="jp-cellpipe-MetricChart-tick"
                x={x + bar / 2}
                y={height - 2}
                textAnchor="middle"
              >
                #{p.number}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
