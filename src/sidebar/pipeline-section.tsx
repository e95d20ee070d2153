/** Pipeline settings: name, description, default image, target, and the cluster endpoint and namespace. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Target, TARGETS } from '../core/tags/settings';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section, TextField } from './fields';

const TARGET_LABELS: Record<Target, string> = {
  local: 'Local (this machine)',
  kfp: 'Kubeflow Pipelines',
  argo: 'Argo Workflows'
};

export function PipelineSection(props: {
  session: NotebookPipeline;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, trans } = props;
  const p = session.pipeline.analysis?.pipeline;
  if (!p) {
    return null;
  }
  const set = session.pipeline.setPipelineSettings.bind(session.pipeline);
  return (
    <Section name="pipeline" title={trans.__('Pipeline settings')} open={false}>
      <TextField name="name" label={trans.__('Name')} value={p.name} onCommit={name => set({ name })} />
      <TextField
        name="description"
        label={trans.__('Description')}
        value={p.description}
        onCommit={description => set({ description })}
      />
      <TextField
        name="image"
        label={trans.__('Default image')}
        placeholder={trans.__("the notebook's own image")}
        value={p.image}
        onCommit={image => set({ image })}
      />
      <label className="jp-cellpipe-Field" data-field="target">
        <span className="jp-cellpipe-Field-label">{trans.__('Target')}</span>
        <select
          className="jp-mod-styled"
          value={session.pipeline.target}
          onChange={e => set({ target: e.target.value as Target })}
        >
          {TARGETS.map(t => (
            <option key={t} value={t}>
              {trans.__(TARGET_LABELS[t])}
            </option>
          ))}
        </select>
      </label>
      {session.pipeline.target !== 'local' && (
        <>
          <TextField
            name="endpoint"
            label={trans.__('Endpoint')}
            placeholder="https://kubeflow.example.com/pipeline"
            value={p.endpoint}
            onCommit={endpoint => set({ endpoint })}
          />
          <TextField
            name="namespace"
            label={trans.__('Namespace')}
            value={p.namespace}
            onCommit={namespace => set({ namespace })}
          />
        </>
      )}
    </Section>
  );
}
