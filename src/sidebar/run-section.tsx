/** Run: parameter values, Run / Run this step / Run from here / Cancel, and the states of the current run. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { parameterText } from '../core/tags/parameters';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { diffLineage, lineageLines } from '../core/runs/lineage';
import { RunView, runSeconds, StepView } from '../run/run-state';
import { Section, TextField } from './fields';

/** Server error codes that mean the workspace cannot be snapshotted (mounting the volumes still works). */
const SNAPSHOT_ERRORS = ['no-snapshot-class', 'snapshot-failed', 'snapshot-timeout'];

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
  const stepTitle = !step
    ? trans.__('Select a cell of a step first')
    : onCluster
      ? trans.__('On a cluster the whole pipeline runs')
      : undefined;
  return (
    <Section name="run" title={trans.__('Run')}>
      {parameters.length > 0 && (
        <div className="jp-cellpipe-Grid" data-list="parameters">
          {parameters.map(([name, p]) => {
            const notebookValue = parameterText(p);
            const typed = runs.parameters[name];
            const differs = typed !== undefined && typed !== notebookValue;
            return (
              <TextField
                key={name}
                name={`param-${name}`}
                label={name}
                value={typed ?? notebookValue}
                hint={differs ? trans.__('notebook: %1', notebookValue) : undefined}
                onReset={differs ? () => runs.resetParameter(name) : undefined}
                resetLabel={trans.__('Back to the notebook’s value (%1)', notebookValue)}
                onCommit={v => runs.setParameter(name, v)}
              />
            );
          })}
        </div>
      )}
      <div className="jp-cellpipe-Buttons">
        <button
          className="jp-mod-styled jp-mod-accept jp-Button"
          data-action="run"
          disabled={runs.starting}
          onClick={() => void session.run({ mode: 'all' })}
        >
          {runs.starting ? trans.__('Submitting…') : trans.__('Run')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="run-step"
          disabled={!step || onCluster}
          title={stepTitle}
          onClick={() => step && void session.run({ mode: 'one', step })}
        >
          {trans.__('Run this step')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="run-from"
          disabled={!step || onCluster}
          title={stepTitle}
          onClick={() => step && void session.run({ mode: 'from', step })}
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
        <p className="jp-cellpipe-Error" role="alert" data-kind={runs.errorKind ?? undefined}>
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
            onClick={() => void session.run({ mode: 'all' }, 'mount')}
          >
            {trans.__('Run with the volumes mounted as they are')}
          </button>
        </div>
      )}
      {run && (
        <div className="jp-cellpipe-Run" data-status={run.status}>
          <p className="jp-cellpipe-Run-title">
            {trans.__('Run %1: %2', run.id, trans.__(run.status))}
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
                  <button
                    className="jp-cellpipe-StepState"
                    title={name}
                    onClick={() => {
                      session.selectStep(name);
                      session.revealStep(name);
                    }}
                  >
                    <span className="jp-cellpipe-StateDot" />
                    <span className="jp-cellpipe-StepState-name">{name}</span>
                    <span className="jp-cellpipe-StepState-label">
                      {s ? trans.__(s.state) : ''}
                      {s?.seconds !== undefined ? ` · ${s.seconds.toFixed(1)} s` : ''}
                    </span>
                  </button>
                  {s && <ClusterStepDetail step={s} trans={trans} />}
                  {s?.error && <div className="jp-cellpipe-Error">{s.error.message}</div>}
                  {!running &&
                    s &&
                    (s.state === 'failed' || s.state === 'succeeded' || s.state === 'cached') && (
                      <StepInputsButton
                        session={session}
                        run={run.id}
                        step={name}
                        failed={s.state === 'failed'}
                        trans={trans}
                      />
                    )}
                </li>
              );
            })}
          </ul>
          <LineageDetail run={run} previous={previousOf(session.runs.runs, run)} trans={trans} />
        </div>
      )}
    </Section>
  );
}

/**
 * "Load this step's inputs into the kernel" (command `cellpipe:load-step-inputs`), and what the last load
 * of this step said.
 */
function StepInputsButton(props: {
  session: NotebookPipeline;
  run: string;
  step: string;
  failed: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, run, step, failed, trans } = props;
  const state = session.inputs.state;
  const mine = state && state.run === run && state.step === step ? state : null;
  const label = trans.__('Load this step’s inputs into the kernel');
  return (
    <div className="jp-cellpipe-StepInputs">
      <button
        className={`jp-mod-styled jp-Button${failed ? ' jp-mod-accept' : ''}`}
        data-action="load-inputs"
        title={label}
        disabled={mine?.status === 'loading'}
        onClick={() => void session.inputs.load(run, step)}
      >
        {failed ? label : trans.__('Load inputs into the kernel')}
      </button>
      {mine && (
        <p
          className={mine.status === 'failed' ? 'jp-cellpipe-Error' : 'jp-cellpipe-StepInputs-note'}
          data-status={mine.status}
          role={mine.status === 'failed' ? 'alert' : undefined}
        >
          {mine.message}
        </p>
      )}
    </div>
  );
}

/** The run listed after `run` (the list is newest first): the one its changes are counted from. */
function previousOf(runs: readonly RunView[], run: RunView): RunView | undefined {
  const at = runs.findIndex(r => r.id === run.id);
  return at >= 0 ? runs[at + 1] : undefined;
}

/**
 * The run's lineage (as `cellpipe runs --show` prints it) and what changed since the run before it (as
 * `cellpipe diff`), folded: both are the core's.
 */
export function LineageDetail(props: {
  run: RunView;
  previous?: RunView;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { run, previous, trans } = props;
  if (!run.lineage) {
    return null;
  }
  // The view's parameters are texts; the lineage holds the typed values the diff compares.
  const of = (r: RunView) => ({ id: r.id, order: r.order, lineage: r.lineage });
  const changes = previous?.lineage ? diffLineage(of(previous), of(run)) : null;
  return (
    <details className="jp-cellpipe-Lineage">
      <summary>
        {changes === null
          ? trans.__('Lineage')
          : changes.length === 0
            ? trans.__('Lineage: nothing changed since run %1', previous!.id)
            : trans._n(
                'Lineage: %1 change since run %2',
                'Lineage: %1 changes since run %2',
                changes.length,
                previous!.id
              )}
      </summary>
      {changes && changes.length > 0 && (
        <ul className="jp-cellpipe-Lineage-changes">
          {changes.map(c => (
            <li key={`${c.kind}:${c.text}`} data-kind={c.kind}>
              <span className="jp-cellpipe-Lineage-kind">{trans.__(c.kind)}</span> {c.text}
            </li>
          ))}
        </ul>
      )}
      <pre className="jp-cellpipe-Lineage-lines">{lineageLines(of(run)).join('\n')}</pre>
    </details>
  );
}

/** Where a cluster step runs (pod, node), why it waits, and how often it was retried. */
export function ClusterStepDetail(props: { step: StepView; trans: TranslationBundle }): JSX.Element | null {
  const { step, trans } = props;
  const c = step.cluster ?? {};
  const where = [
    c.pod ? trans.__('pod %1', c.pod) : '',
    c.node ? trans.__('node %1', c.node) : '',
    c.retries ? trans._n('%1 retry', '%1 retries', c.retries) : ''
  ].filter(Boolean);
  if (where.length === 0 && !step.waiting) {
    return null;
  }
  return (
    <div className="jp-cellpipe-ClusterStep">
      {where.length > 0 && <div className="jp-cellpipe-ClusterStep-where">{where.join(' · ')}</div>}
      {/* Why it waits is the server's sentence (server-proxy step-messages.ts), with what to do. */}
      {step.waiting && (
        <div className="jp-cellpipe-ClusterStep-waiting jp-cellpipe-Waiting">{step.waiting}</div>
      )}
    </div>
  );
}
