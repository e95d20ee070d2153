/**
 * The Sweep section: values for the pipeline parameters to sweep (a list, or a range for random search),
 * the objective metric, and the sweep shown: its trials as a table with the best one marked (each opens
 * its run), and a chart: the metric against the parameter for one swept parameter, parallel coordinates
 * for two or more. The form's drafts are UI state; the sweeps live in the session's SweepsModel.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { SweepRecord } from '../core/sweeps/sweep-record';
import { parameterText } from '../core/tags/parameters';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section } from './fields';
import { formatMetric } from './runs-section';

export function SweepSection(props: { session: NotebookPipeline; trans: TranslationBundle }): JSX.Element {
  const { session, trans } = props;
  const analysis = session.pipeline.analysis;
  const parameters = Object.entries(analysis?.parameters ?? {});
  const metrics = (analysis?.metrics ?? []).map(m => m.name);
  const sweeps = session.sweeps;
  const [values, setValues] = React.useState<Record<string, string>>({});
  const [random, setRandom] = React.useState('');
  const [maxParallel, setMaxParallel] = React.useState('1');
  const [objective, setObjective] = React.useState('');
  const [goal, setGoal] = React.useState<'max' | 'min'>('max');
  const metric = objective || metrics[0] || '';
  const axes = Object.entries(values)
    .filter(([name, text]) => text.trim() !== '' && parameters.some(([p]) => p === name))
    .map(([name, text]) => `${name}=${text.trim()}`);
  const refusal = session.refusal();
  const current = sweeps.current;
  const running = current?.status === 'running';
  const start = () =>
    void sweeps.start({
      content: session.content(),
      params: axes,
      random: random.trim() ? Number(random) : undefined,
      maxParallel: Number(maxParallel) || 1,
      objective: metric ? `${metric}:${goal}` : undefined
    });
  return (
    <Section name="sweep" title={trans.__('Sweep')} open={false}>
      {parameters.length === 0 ? (
        <p className="jp-cellpipe-Hint">
          {trans.__('Give a cell the pipeline-parameters role to sweep the values of its parameters.')}
        </p>
      ) : (
        <>
          <p className="jp-cellpipe-Hint">
            {trans.__(
              'Values to try, separated by commas (or MIN..MAX, MIN..MAX:log for random search). Steps that read none of the swept parameters run once for all trials.'
            )}
          </p>
          <div className="jp-cellpipe-SweepForm">
            {parameters.map(([name, value]) => (
              <DraftField
                key={name}
                name={`sweep-${name}`}
                label={name}
                value={values[name] ?? ''}
                placeholder={trans.__('e.g. %1', parameterText(value))}
                onChange={v => setValues({ ...values, [name]: v })}
              />
            ))}
            <DraftField
              name="sweep-random"
              label={trans.__('Random trials (empty: the whole grid)')}
              value={random}
              numeric
              onChange={setRandom}
            />
            <DraftField
              name="sweep-parallel"
              label={trans.__('Trials at once')}
              value={maxParallel}
              numeric
              onChange={setMaxParallel}
            />
            {metrics.length > 0 && (
              <label className="jp-cellpipe-Field" data-field="sweep-objective">
                <span className="jp-cellpipe-Field-label">{trans.__('Objective')}</span>
                <span className="jp-cellpipe-Field-row">
                  <select
                    className="jp-mod-styled"
                    value={metric}
                    onChange={e => setObjective(e.target.value)}
                    aria-label={trans.__('Objective metric')}
                  >
                    {metrics.map(m => (
                      <option key={m} value={m}>
                        {m}
                      </option>
                    ))}
                  </select>
                  <select
                    className="jp-mod-styled"
                    value={goal}
                    onChange={e => setGoal(e.target.value as 'max' | 'min')}
                    aria-label={trans.__('Goal')}
                  >
                    <option value="max">{trans.__('highest')}</option>
                    <option value="min">{trans.__('lowest')}</option>
                  </select>
                </span>
              </label>
            )}
          </div>
          <div className="jp-cellpipe-Buttons">
            <button
              className="jp-mod-styled jp-mod-accept jp-Button"
              data-action="sweep"
              disabled={axes.length === 0 || sweeps.starting || running || refusal !== null}
              title={refusal ?? (axes.length === 0 ? trans.__('Give values for at least one parameter') : '')}
              onClick={start}
            >
              {sweeps.starting ? trans.__('Starting…') : trans.__('Start sweep')}
            </button>
            {running && (
              <button
                className="jp-mod-styled jp-mod-warn jp-Button"
                data-action="cancel-sweep"
                onClick={() => void sweeps.cancel()}
              >
                {trans.__('Cancel sweep')}
              </button>
            )}
          </div>
        </>
      )}
      {sweeps.error && (
        <p className="jp-cellpipe-Error" role="alert">
          {sweeps.error}
        </p>
      )}
      {sweeps.sweeps.length > 1 && (
        <label className="jp-cellpipe-Field" data-field="sweep-shown">
          <span className="jp-cellpipe-Field-label">{trans.__('Sweep shown')}</span>
          <select
            className="jp-mod-styled"
            value={current?.id ?? ''}
            onChange={e => sweeps.open(e.target.value)}
          >
            {sweeps.sweeps.map(s => (
              <option key={s.id} value={s.id}>
                {`${s.id} · ${s.axes.map(a => a.name).join(', ')} · ${trans.__(s.status)}`}
              </option>
            ))}
          </select>
        </label>
      )}
      {current && <SweepResults sweep={current} session={session} trans={trans} />}
    </Section>
  );
}

/** A labelled input whose text is the section's draft (read when the sweep starts). */
function DraftField(props: {
  name: string;
  label: string;
  value: string;
  placeholder?: string;
  numeric?: boolean;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label className="jp-cellpipe-Field" data-field={props.name}>
      <span className="jp-cellpipe-Field-label">{props.label}</span>
      <input
        className="jp-mod-styled jp-cellpipe-Field-input"
        inputMode={props.numeric ? 'numeric' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={e => props.onChange(e.target.value)}
      />
    </label>
  );
}

function SweepResults(props: {
  sweep: SweepRecord;
  session: NotebookPipeline;
  trans: TranslationBundle;
}): JSX.Element {
  const { sweep, session, trans } = props;
  const names = sweep.axes.map(a => a.name);
  const metric = sweep.objective?.metric;
  const done = sweep.trials.filter(t => t.status !== 'queued' && t.status !== 'running').length;
  return (
    <div className="jp-cellpipe-Sweep" data-sweep={sweep.id} data-status={sweep.status}>
      <p className="jp-cellpipe-Sweep-summary">
        {trans.__('%1 of %2 trials done · %3', done, sweep.trials.length, trans.__(sweep.status))}
        {sweep.shared.length > 0 && (
          <>
            <br />
            {trans.__('Run once for all trials: %1', sweep.shared.join(', '))}
          </>
        )}
      </p>
      <table className="jp-cellpipe-SweepTable">
        <thead>
          <tr>
            <th aria-label={trans.__('Best')} />
            {names.map(n => (
              <th key={n}>{n}</th>
            ))}
            {metric && <th>{metric}</th>}
            <th>{trans.__('status')}</th>
          </tr>
        </thead>
        <tbody>
          {sweep.trials.map((trial, i) => (
            <tr
              key={trial.label}
              data-trial={i}
              data-best={sweep.best === i ? 'true' : undefined}
              data-status={trial.status}
              title={trial.reason ?? (trial.run ? trans.__('Open run %1', trial.run) : undefined)}
              onClick={() => trial.run && session.runs.openRun(trial.run)}
            >
              <td>{sweep.best === i ? '★' : ''}</td>
              {names.map(n => (
                <td key={n}>{trial.parameters[n] ? parameterText(trial.parameters[n]) : ''}</td>
              ))}
              {metric && <td>{formatMetric(trial.metrics?.[metric])}</td>}
              <td className="jp-cellpipe-SweepTable-status">{trans.__(trial.status)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {metric && <SweepChart sweep={sweep} metric={metric} trans={trans} />}
    </div>
  );
}

/** A position on an axis for each trial's value: numbers by value (log when they span decades), else by kind. */
function axisScale(values: unknown[]): { at: (v: unknown) => number; ticks: [string, string] } | null {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === values.length && numbers.length > 0) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    const log = min > 0 && max / min >= 100;
    const f = (v: number) => (log ? Math.log10(v) : v);
    const span = f(max) - f(min) || 1;
    // Three significant digits: the ends of a sidebar-wide axis, not the values themselves (the table has those).
    const tick = (v: number) => String(Number(v.toPrecision(3)));
    return {
      at: v => (f(v as number) - f(min)) / span,
      ticks: [tick(min), tick(max)]
    };
  }
  const kinds = [...new Set(values.map(v => JSON.stringify(v)))];
  if (kinds.length === 0) {
    return null;
  }
  return {
    at: v => (kinds.length === 1 ? 0.5 : kinds.indexOf(JSON.stringify(v)) / (kinds.length - 1)),
    ticks: [kinds[0].replace(/^"|"$/g, ''), kinds[kinds.length - 1].replace(/^"|"$/g, '')]
  };
}

/**
 * One swept parameter: the metric against it, a point per trial joined in the parameter's order. Two or
 * more: parallel coordinates, an axis per parameter and one for the metric, a line per trial; the best
 * trial drawn strongest.
 */
function SweepChart(props: {
  sweep: SweepRecord;
  metric: string;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { sweep, metric, trans } = props;
  const trials = sweep.trials
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => typeof t.metrics?.[metric] === 'number');
  if (trials.length < 2) {
    return null;
  }
  const names = sweep.axes.map(a => a.name);
  const width = 240;
  const top = 24; // room above the plot for each axis's name and its highest value
  const plot = 84;
  const height = top + plot + 14;
  const y = (fraction: number) => top + (1 - fraction) * plot;
  const metricScale = axisScale(trials.map(({ t }) => t.metrics![metric]))!;
  if (names.length === 1) {
    const name = names[0];
    const xs = axisScale(trials.map(({ t }) => t.parameters[name]?.value))!;
    const left = 40;
    const right = width - 8;
    const x = (v: unknown) => left + xs.at(v) * (right - left);
    const points = trials
      .map(({ t, i }) => ({ i, px: x(t.parameters[name]?.value), py: y(metricScale.at(t.metrics![metric])) }))
      .sort((a, b) => a.px - b.px);
    return (
      <figure className="jp-cellpipe-SweepChart" data-kind="line">
        <figcaption>{trans.__('%1 against %2', metric, name)}</figcaption>
        <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={`${metric} / ${name}`}>
          <text className="jp-cellpipe-MetricChart-tick" x={left - 4} y={y(1) + 3} textAnchor="end">
            {metricScale.ticks[1]}
          </text>
          <text className="jp-cellpipe-MetricChart-tick" x={left - 4} y={y(0) + 3} textAnchor="end">
            {metricScale.ticks[0]}
          </text>
          <line className="jp-cellpipe-MetricChart-axis" x1={left} x2={left} y1={top} y2={top + plot} />
          <line
            className="jp-cellpipe-MetricChart-axis"
            x1={left}
            x2={right}
            y1={top + plot}
            y2={top + plot}
          />
          <text className="jp-cellpipe-MetricChart-tick" x={left} y={height - 2} textAnchor="start">
            {xs.ticks[0]}
          </text>
          <text className="jp-cellpipe-MetricChart-tick" x={right} y={height - 2} textAnchor="end">
            {xs.ticks[1]}
          </text>
          <polyline
            className="jp-cellpipe-SweepChart-line"
            points={points.map(p => `${p.px},${p.py}`).join(' ')}
          />
          {points.map(p => (
            <circle
              key={p.i}
              className="jp-cellpipe-SweepChart-point"
              data-best={sweep.best === p.i ? 'true' : undefined}
              cx={p.px}
              cy={p.py}
              r={sweep.best === p.i ? 4 : 2.5}
            >
              <title>{`${sweep.trials[p.i].label}: ${formatMetric(sweep.trials[p.i].metrics![metric])}`}</title>
            </circle>
          ))}
        </svg>
      </figure>
    );
  }
  const columns = [...names, metric];
  const scales = columns.map((c, k) =>
    k === names.length ? metricScale : axisScale(trials.map(({ t }) => t.parameters[c]?.value))!
  );
  const left = 16;
  const right = width - 16;
  const xOf = (k: number) => left + (k / (columns.length - 1)) * (right - left);
  // The first and last axes' texts grow inwards, so none leaves the chart.
  const anchor = (k: number) => (k === 0 ? 'start' : k === columns.length - 1 ? 'end' : 'middle');
  const valueOf = (k: number, i: number) =>
    k === names.length ? sweep.trials[i].metrics![metric] : sweep.trials[i].parameters[columns[k]]?.value;
  // The best trial last, so it is drawn over the others.
  const order = [...trials].sort((a, b) => Number(a.i === sweep.best) - Number(b.i === sweep.best));
  return (
    <figure className="jp-cellpipe-SweepChart" data-kind="parallel">
      <figcaption>{trans.__('Trials across %1 and %2', names.join(', '), metric)}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={columns.join(' / ')}>
        {columns.map((c, k) => (
          <g key={c}>
            <line className="jp-cellpipe-MetricChart-axis" x1={xOf(k)} x2={xOf(k)} y1={top} y2={top + plot} />
            <text className="jp-cellpipe-SweepChart-label" x={xOf(k)} y={9} textAnchor={anchor(k)}>
              {c}
            </text>
            <text className="jp-cellpipe-MetricChart-tick" x={xOf(k)} y={top - 4} textAnchor={anchor(k)}>
              {scales[k].ticks[1]}
            </text>
            <text className="jp-cellpipe-MetricChart-tick" x={xOf(k)} y={height - 2} textAnchor={anchor(k)}>
              {scales[k].ticks[0]}
            </text>
          </g>
        ))}
        {order.map(({ i }) => (
          <polyline
            key={i}
            className="jp-cellpipe-SweepChart-trial"
            data-best={sweep.best === i ? 'true' : undefined}
            points={columns.map((_, k) => `${xOf(k)},${y(scales[k].at(valueOf(k, i)))}`).join(' ')}
          >
            <title>{`${sweep.trials[i].label}: ${formatMetric(sweep.trials[i].metrics![metric])}`}</title>
          </polyline>
        ))}
      </svg>
    </figure>
  );
}
