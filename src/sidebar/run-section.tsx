/** Run: parameter values, Run / Run this step / Run from here / Cancel, and the states of the current run. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { runRefusal } from '../core/runs/refusal';
import { formatParameterValue } from '../core/tags/parameters';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { runSeconds } from '../run/run-state';
import type { RunSelection } from '../run/runs-model';
import { Section, TextField } from './fields';

/** Server error codes that mean the workspace cannot be snapshotted (mounting the volumes still works). */
const SNAPSHOT_ERRORS = ['no-snapshot-class', 'snapshot-failed', 'snapshot-timeout'];

/** Starts a run of the live notebook; refuses (with the reason) when the analysis has errors. */
export function runPipeline(
  session: NotebookPipeline,
  steps: RunSelection,
  trans: TranslationBundle,
  volumes?: 'snapshot' | 'mount'
): Promise<void> {
  const analysis = session.pipeline.refresh();
  let refusal: string | undefined;
  if (!analysis) {
    refusal = trans.__('The pipeline is still being analysed; try again in a moment.');
  } else {
    // The core's rule decides; the sidebar words it (the problems are listed below it).
    const refused = runRefusal(analysis, { target: session.pipeline.target, steps });
    if (refused?.code === 'no-steps') {
      refusal = trans.__('No cell is tagged as a step yet.');
    } else if (refused?.code === 'cluster-runs-every-step') {
      refusal = trans.__('On a cluster the whole pipeline runs: use Run, or set the target to Local.');
    } else if (refused?.code === 'pipeline-has-errors') {
      refusal = trans.__(
        'Fix the %1 problem(s) listed below first: %2',
        refused.errors.length,
        refused.errors[0].message
      );
    } else if (refused) {
      refusal = refused.message;
    }
  }
  return session.runs.start(session.content(), steps, session.pipeline.target, refusal, volumes);
}

export function RunSection(props: {
  session: NotebookPipeline;
  step: string | null;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, step, trans } = props;
  const analysis = session.pipeline.analysis;
  if (!analysis) {
    return null;
  }
  const runs = session.runs;
  const run = runs.current;
  const running = run?.status === 'running';
  const parameters = Object.entries(analysis.parameters);
  const onCluster = session.pipeline.target !== 'local';
  return (
    <Section name="run" title={trans.__('Run')}>
      {parameters.length > 0 && (
        <div className="jp-cellpipe-Grid" data-list="parameters">
          {parameters.map(([name, p]) => (
            <TextField
              key={name}
              name={`param-${name}`}
              label={name}
              value={runs.parameters[name] ?? formatParameterValue(p.value)}
              onCommit={v => runs.setParameter(name, v)}
            />
          ))}
        </div>
      )}
      <div className="jp-cellpipe-Buttons">
        <button
          className="jp-mod-styled jp-mod-accept jp-Button"
          data-action="run"
          onClick={() => void runPipeline(session, { mode: 'all' }, trans)}
        >
          {trans.__('Run')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="run-step"
          disabled={!step || onCluster}
          title={onCluster ? trans.__('On a cluster the whole pipeline runs') : undefined}
          onClick={() => step && void runPipeline(session, { mode: 'one', step }, trans)}
        >
          {trans.__('Run this step')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="run-from"
          disabled={!step || onCluster}
          title={onCluster ? trans.__('On a cluster the whole pipeline runs') : undefined}
          onClick={() => step && void runPipeline(session, { mode: 'from', step }, trans)}
        >
          {trans.__('Run from here')}
        </button>
        {running && (
          <button
            className="jp-mod-styled jp-mod-warn jp-Button"
            data-action="cancel"
            onClick={() => void runs.cancel()}
          >
            {trans.__('Cancel')}
          </button>
        )}
      </div>
      {runs.error && (
        <p className="jp-cellpipe-Error" role="alert">
          {runs.error}
        </p>
      )}
      {runs.errorCode !== null && SNAPSHOT_ERRORS.includes(runs.errorCode) && (
        <div className="jp-cellpipe-Offer">
          <p>
            {trans.__(
              'Without snapshots, steps can mount the workspace volumes as they are: they then see the files as they are when each step runs, not as they were at submission.'
            )}
          </p>
          <button
            className="jp-mod-styled jp-Button"
            data-action="run-mounted"
            onClick={() => void runPipeline(session, { mode: 'all' }, trans, 'mount')}
          >
            {trans.__('Run with the volumes mounted as they are')}
          </button>
        </div>
      )}
      {run && (
        <div className="jp-cellpipe-Run" data-status={run.status}>
          <p>
            {trans.__('Run %1: %2', run.id, run.status)}
            {run.finished && ` (${runSeconds(run).toFixed(1)} s)`}
          </p>
          {run.cluster && (
            <p className="jp-cellpipe-Cluster" data-kind={run.cluster.kind}>
              {run.cluster.kind === 'kfp'
                ? trans.__('On Kubeflow Pipelines, namespace %1', run.cluster.namespace)
                : trans.__('On Argo Workflows, namespace %1', run.cluster.namespace)}
              {run.cluster.url && (
                <>
                  {' · '}
                  <a href={run.cluster.url} target="_blank" rel="noopener noreferrer">
                    {run.cluster.kind === 'kfp'
                      ? trans.__('open in the KFP UI')
                      : trans.__('open in the Argo UI')}
                  </a>
                </>
              )}
            </p>
          )}
          {run.snapshots.length > 0 && (
            <ul className="jp-cellpipe-Snapshots">
              {run.snapshots.map(s => (
                <li key={s.claim}>
                  {s.snapshot
                    ? trans.__('%1 (at %2): restored from snapshot %3', s.claim, s.mountPath, s.snapshot)
                    : trans.__('%1 (at %2): mounted as it is (no snapshot)', s.claim, s.mountPath)}
                </li>
              ))}
            </ul>
          )}
          {run.notes.map(note => (
            <p key={note} className="jp-cellpipe-Warning">
              {note}
            </p>
          ))}
          <ul className="jp-cellpipe-StepStates">
            {run.order.map(name => {
              const s = run.steps[name];
              return (
                <li key={name} data-step={name} data-state={s?.state ?? 'queued'}>
                  <button className="jp-cellpipe-StepState" onClick={() => session.selectStep(name)}>
                    <span className="jp-cellpipe-StateDot" />
                    <span>{name}</span>
                    <span className="jp-cellpipe-StepState-label">
                      {s ? trans.__(s.state) : ''}
                      {s?.seconds !== undefined ? ` · ${s.seconds.toFixed(1)} s` : ''}
                    </span>
                  </button>
                  {s?.error && <div className="jp-cellpipe-Error">{s.error.message}</div>}
                  {s?.waiting && <div className="jp-cellpipe-Waiting">{s.waiting}</div>}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </Section>
  );
}
