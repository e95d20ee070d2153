/**
 * The Schedules section: make a recurring run of the pipeline on the cluster (cron, time zone, target,
 * name), checked by the core's rule as it is typed, and the notebook's schedules with their state (next
 * run, last run, paused, how many runs) and Pause / Resume / Delete. The form's drafts are UI state; the
 * schedules live in the session's SchedulesModel.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { defaultScheduleName, scheduleProblem } from '../core/schedules/schedule';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section } from './fields';

/** The browser's own time zone: what "06:00" means to the user typing it. */
function localTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function ScheduleSection(props: { session: NotebookPipeline; trans: TranslationBundle }): JSX.Element {
  const { session, trans } = props;
  const model = session.schedules;
  const analysis = session.pipeline.analysis;
  const own = analysis?.pipeline.target;
  const [cron, setCron] = React.useState('0 6 * * *');
  const [timezone, setTimezone] = React.useState(localTimezone);
  const [target, setTarget] = React.useState<'argo' | 'kfp'>(own === 'kfp' ? 'kfp' : 'argo');
  const [name, setName] = React.useState('');
  const problem = scheduleProblem({ cron, timezone: timezone || 'UTC' });
  const refusal = session.refusal();
  const create = async () => {
    const made = await model.create({
      content: session.content(),
      cron,
      timezone: timezone || 'UTC',
      target,
      ...(name.trim() ? { name: name.trim() } : {})
    });
    if (made) {
      setName('');
    }
  };
  const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : '–');
  return (
    <Section name="schedules" title={trans.__('Schedules')} open={false}>
      <p className="jp-cellpipe-Hint">
        {own === 'local' || own === undefined
          ? trans.__(
              'A schedule runs the pipeline on a cluster (Argo or Kubeflow Pipelines), with the code and the workspace files as they are now. This pipeline runs locally: choose where the scheduled runs go.'
            )
          : trans.__(
              'A schedule runs the pipeline on the cluster, with the code and the workspace files as they are now.'
            )}
      </p>
      <div className="jp-cellpipe-ScheduleForm">
        <label className="jp-cellpipe-Field" data-field="schedule-cron">
          <span className="jp-cellpipe-Field-label">
            {trans.__('When (cron: minute hour day month weekday)')}
          </span>
          <input
            className="jp-mod-styled jp-cellpipe-Field-input"
            value={cron}
            onChange={e => setCron(e.target.value)}
            aria-invalid={problem !== null}
          />
        </label>
        <label className="jp-cellpipe-Field" data-field="schedule-timezone">
          <span className="jp-cellpipe-Field-label">{trans.__('Time zone')}</span>
          <input
            className="jp-mod-styled jp-cellpipe-Field-input"
            value={timezone}
            placeholder="UTC"
            onChange={e => setTimezone(e.target.value)}
          />
        </label>
        {problem && (
          <p className="jp-cellpipe-Error" data-problem="schedule">
            {problem}
          </p>
        )}
        <label className="jp-cellpipe-Field" data-field="schedule-target">
          <span className="jp-cellpipe-Field-label">{trans.__('Runs on')}</span>
          <select
            className="jp-mod-styled"
            value={target}
            onChange={e => setTarget(e.target.value as 'argo' | 'kfp')}
          >
            <option value="argo">{trans.__('Argo Workflows (CronWorkflow)')}</option>
            <option value="kfp">{trans.__('Kubeflow Pipelines (recurring run)')}</option>
          </select>
        </label>
        <label className="jp-cellpipe-Field" data-field="schedule-name">
          <span className="jp-cellpipe-Field-label">{trans.__('Name')}</span>
          <input
            className="jp-mod-styled jp-cellpipe-Field-input"
            value={name}
            placeholder={defaultScheduleName(analysis?.pipeline.name ?? 'pipeline')}
            onChange={e => setName(e.target.value)}
          />
        </label>
      </div>
      <div className="jp-cellpipe-Buttons">
        <button
          className="jp-mod-styled jp-mod-accept jp-Button"
          data-action="schedule"
          disabled={problem !== null || refusal !== null || model.busy !== null}
          title={problem ?? refusal ?? ''}
          onClick={() => void create()}
        >
          {model.busy === '' ? trans.__('Scheduling…') : trans.__('Schedule')}
        </button>
      </div>
      {model.error && (
        <p className="jp-cellpipe-Error" role="alert">
          {model.error}
        </p>
      )}
      {model.schedules.length > 0 && (
        <ul className="jp-cellpipe-Schedules">
          {model.schedules.map(s => (
            <li
              key={s.name}
              data-schedule={s.name}
              data-state={s.problem ? 'problem' : s.paused ? 'paused' : 'active'}
            >
              <div className="jp-cellpipe-Schedules-title" title={s.cluster.url ?? ''}>
                <strong>{s.name}</strong> <code>{s.cron}</code> {s.timezone} ·{' '}
                {s.target === 'argo' ? trans.__('Argo') : trans.__('KFP')}
              </div>
              <div className="jp-cellpipe-Schedules-state">
                <span data-field="state" title={s.problem ?? ''}>
                  {s.problem ? trans.__('unknown') : s.paused ? trans.__('paused') : trans.__('active')}
                </span>
                {' · '}
                {trans.__('next')} <span data-field="next">{when(s.nextRun)}</span>
                {' · '}
                {trans.__('last')} <span data-field="last">{when(s.lastRun)}</span>
                {' · '}
                {trans.__('runs')} <span data-field="runs">{s.runs.length}</span>
              </div>
              <div className="jp-cellpipe-Schedules-actions">
                <button
                  className="jp-mod-styled jp-Button"
                  data-action={s.paused ? 'resume-schedule' : 'pause-schedule'}
                  disabled={model.busy !== null || !!s.problem}
                  onClick={() => void model.setPaused(s.name, !s.paused)}
                >
                  {s.paused ? trans.__('Resume') : trans.__('Pause')}
                </button>
                <button
                  className="jp-mod-styled jp-mod-warn jp-Button"
                  data-action="delete-schedule"
                  disabled={model.busy !== null}
                  onClick={() => void model.remove(s.name)}
                >
                  {trans.__('Delete')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {model.schedules
        .filter(s => s.problem)
        .map(s => (
          <p key={s.name} className="jp-cellpipe-Error">
            {`${s.name}: ${s.problem}`}
          </p>
        ))}
    </Section>
  );
}
