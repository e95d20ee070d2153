/**
 * The selected step: the variables it receives (with the providing step) and
 * passes on, and its settings, validated as typed with the error by the field.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { stepSettingProblems, StepSettings, Toleration } from '../core/tags/settings';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { linesToRecord, recordToLines, Section, TextField } from './fields';

export function StepSection(props: {
  session: NotebookPipeline;
  step: string;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, step, trans } = props;
  const spec = session.pipeline.analysis?.steps.find(s => s.name === step);
  if (!spec) {
    return null;
  }
  return (
    <>
      <Section name="flow" title={trans.__('Step %1: data', step)}>
        <div className="jp-cellpipe-Flow">
          <h4>{trans.__('Inputs')}</h4>
          {spec.ins.length === 0 ? (
            <p className="jp-cellpipe-Hint">{trans.__('None')}</p>
          ) : (
            <ul className="jp-cellpipe-VarList" data-list="ins">
              {spec.ins.map(name => (
                <li key={name}>
                  <code>{name}</code> <span className="jp-cellpipe-From">← {spec.sources[name]}</span>
                </li>
              ))}
            </ul>
          )}
          <h4>{trans.__('Outputs')}</h4>
          {spec.outs.length === 0 ? (
            <p className="jp-cellpipe-Hint">
              {trans.__('None (no step below reads what this step defines)')}
            </p>
          ) : (
            <ul className="jp-cellpipe-VarList" data-list="outs">
              {spec.outs.map(name => (
                <li key={name}>
                  <code>{name}</code>
                </li>
              ))}
            </ul>
          )}
        </div>
      </Section>
      {spec.notebook !== undefined ? (
        <NotebookStepSummary session={session} step={step} trans={trans} />
      ) : (
        <StepSettingsForm session={session} step={step} resolved={spec.settings} trans={trans} />
      )}
    </>
  );
}

/** A notebook: step: the notebook it runs, the parameters passed down, and its steps (their settings are its own). */
function NotebookStepSummary(props: {
  session: NotebookPipeline;
  step: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, step, trans } = props;
  const sub = session.pipeline.analysis?.subPipelines[step];
  return (
    <Section name="notebook" title={trans.__('Step %1: notebook', step)}>
      {!sub ? (
        <p className="jp-cellpipe-Hint">
          {trans.__('The notebook it runs could not be read (see Problems).')}
        </p>
      ) : (
        <div className="jp-cellpipe-Flow">
          <p>
            {trans.__('Runs')} <code>{sub.path}</code>
          </p>
          <h4>{trans.__('Parameters passed down')}</h4>
          {sub.passed.length === 0 ? (
            <p className="jp-cellpipe-Hint">{trans.__('None')}</p>
          ) : (
            <ul className="jp-cellpipe-VarList" data-list="passed">
              {sub.passed.map(name => (
                <li key={name}>
                  <code>{name}</code>
                </li>
              ))}
            </ul>
          )}
          <h4>{trans.__('Its steps')}</h4>
          <ul className="jp-cellpipe-VarList" data-list="sub-steps">
            {sub.analysis.steps.map(s => (
              <li key={s.name}>
                <code>{s.name}</code>
                {s.notebook !== undefined && (
                  <span className="jp-cellpipe-From"> {trans.__('runs %1', s.notebook)}</span>
                )}
              </li>
            ))}
          </ul>
          <p className="jp-cellpipe-Hint">
            {trans.__('Its steps keep the settings of their own notebook; open it to change them.')}
          </p>
        </div>
      )}
    </Section>
  );
}

function StepSettingsForm(props: {
  session: NotebookPipeline;
  step: string;
  resolved: StepSettings;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, step, resolved, trans } = props;
  const own = session.pipeline.ownStepSettings(step);
  const problems = stepSettingProblems(resolved);
  const errorOf = (field: string) =>
    problems
      .filter(p => p.field === field)
      .map(p => p.problem)
      .join('; ') || undefined;
  const save = (next: StepSettings) => session.pipeline.setStepSettings(step, prune(next));
  const amount = (key: 'cpu' | 'memory', kind: 'request' | 'limit', value: string) =>
    save({ ...own, [key]: { ...own[key], [kind]: value.trim() || undefined } });
  const number = (text: string) => (text.trim() === '' ? undefined : Number(text));
  return (
    <Section name="settings" title={trans.__('Step %1: settings', step)} open={false}>
      <div className="jp-cellpipe-Grid">
        {RESOURCE_FIELDS.map(([key, kind, placeholder]) => (
          <TextField
            key={`${key}.${kind}`}
            name={`${key}.${kind}`}
            label={resourceLabel(key, kind, trans)}
            placeholder={placeholder}
            value={own[key]?.[kind] ?? ''}
            error={errorOf(`${key}.${kind}`)}
            onCommit={v => amount(key, kind, v)}
          />
        ))}
        <TextField
          name="gpu.count"
          label={trans.__('GPUs')}
          placeholder="0"
          value={own.gpu ? String(own.gpu.count) : ''}
          error={errorOf('gpu.count')}
          onCommit={v =>
            save({
              ...own,
              gpu: v.trim() ? { count: Number(v), vendor: own.gpu?.vendor ?? 'nvidia' } : undefined
            })
          }
        />
        <label className="jp-cellpipe-Field" data-field="gpu.vendor">
          <span className="jp-cellpipe-Field-label">{trans.__('GPU vendor')}</span>
          <select
            className="jp-mod-styled"
            value={own.gpu?.vendor ?? 'nvidia'}
            disabled={!own.gpu}
            onChange={e =>
              own.gpu && save({ ...own, gpu: { ...own.gpu, vendor: e.target.value as 'nvidia' | 'amd' } })
            }
          >
            <option value="nvidia">NVIDIA</option>
            <option value="amd">AMD</option>
          </select>
        </label>
      </div>
      <TextField
        name="image"
        label={trans.__('Image')}
        placeholder={trans.__('the pipeline image')}
        value={own.image ?? ''}
        onCommit={v => save({ ...own, image: v.trim() || undefined })}
      />
      <TextField
        name="env"
        label={trans.__('Environment (NAME=value, …)')}
        value={recordToLines(own.env)}
        error={errorOf('env')}
        onCommit={v => save({ ...own, env: linesToRecord(v) })}
      />
      <TextField
        name="secrets"
        label={trans.__('Secrets as environment (NAME=secret/key, …)')}
        value={(own.secrets ?? []).map(s => `${s.env}=${s.secret}/${s.key}`).join(', ')}
        error={errorOf('secrets')}
        onCommit={v => save({ ...own, secrets: parseSecrets(v) })}
      />
      <TextField
        name="nodeSelector"
        label={trans.__('Node selector (key=value, …)')}
        value={recordToLines(own.nodeSelector)}
        error={errorOf('labels')}
        onCommit={v => save({ ...own, nodeSelector: linesToRecord(v) })}
      />
      <TextField
        name="tolerations"
        label={trans.__('Tolerations (key=value:Effect, …)')}
        value={(own.tolerations ?? []).map(formatToleration).join(', ')}
        onCommit={v => save({ ...own, tolerations: parseTolerations(v) })}
      />
      <div className="jp-cellpipe-Grid">
        <TextField
          name="retries"
          label={trans.__('Retries')}
          placeholder="0"
          value={own.retries?.toString() ?? ''}
          error={errorOf('retries')}
          onCommit={v => save({ ...own, retries: number(v) })}
        />
        <TextField
          name="timeout"
          label={trans.__('Timeout (seconds)')}
          value={own.timeout?.toString() ?? ''}
          error={errorOf('timeout')}
          onCommit={v => save({ ...own, timeout: number(v) })}
        />
      </div>
      <label className="jp-cellpipe-Check" data-field="caching">
        <input
          type="checkbox"
          checked={resolved.caching !== false}
          onChange={e => save({ ...own, caching: e.target.checked ? undefined : false })}
        />
        {trans.__('Reuse cached results when nothing changed')}
      </label>
    </Section>
  );
}

const RESOURCE_FIELDS: ReadonlyArray<['cpu' | 'memory', 'request' | 'limit', string]> = [
  ['cpu', 'request', '500m'],
  ['cpu', 'limit', '2'],
  ['memory', 'request', '1Gi'],
  ['memory', 'limit', '2Gi']
];

function resourceLabel(key: 'cpu' | 'memory', kind: 'request' | 'limit', trans: TranslationBundle): string {
  if (key === 'cpu') {
    return kind === 'request' ? trans.__('CPU request') : trans.__('CPU limit');
  }
  return kind === 'request' ? trans.__('Memory request') : trans.__('Memory limit');
}

/** Drops empty values so the notebook's metadata holds only what the user set. */
function prune(settings: StepSettings): StepSettings {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) {
      continue;
    }
    if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.values(value).every(v => v === undefined)
    ) {
      continue;
    }
    out[key] = value;
  }
  return out as StepSettings;
}

function parseSecrets(text: string): StepSettings['secrets'] {
  const secrets = Object.entries(linesToRecord(text) ?? {}).map(([env, ref]) => {
    const slash = ref.indexOf('/');
    return { env, secret: slash < 0 ? ref : ref.slice(0, slash), key: slash < 0 ? '' : ref.slice(slash + 1) };
  });
  return secrets.length > 0 ? secrets : undefined;
}

function formatToleration(t: Toleration): string {
  return `${t.key ?? ''}${t.value !== undefined ? `=${t.value}` : ''}${t.effect ? `:${t.effect}` : ''}`;
}

function parseTolerations(text: string): Toleration[] | undefined {
  const list = text
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map((part): Toleration => {
      const [keyValue, effect] = part.split(':');
      const [key, value] = keyValue.split('=');
      return {
        key: key || undefined,
        operator: value === undefined ? 'Exists' : 'Equal',
        value,
        effect: effect as Toleration['effect']
      };
    });
  return list.length > 0 ? list : undefined;
}
