/**
 * Pipeline settings: name, description, target; for a cluster target how to reach it (a kubeconfig
 * context or the pod's service account, the KFP token file: the user's settings) and the pipeline's
 * cluster settings (KFP endpoint and experiment, namespace, step image, volumes, snapshots), each
 * checked as it is typed, with what the server found (the notebook pod's image and volumes) as the
 * default; and compiling: download the KFP or Argo YAML, upload to KFP as a pipeline version.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ClusterReport } from '../core/cluster-api';
import { clusterSettingProblems, Target, TARGETS, VolumeSettings } from '../core/tags/settings';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { downloadFile } from '../services/download-file';
import type { ClusterModel } from './cluster-model';
import { Section, TextField } from './fields';

const TARGET_LABELS: Record<Target, string> = {
  local: 'Local (this machine)',
  kfp: 'Kubeflow Pipelines',
  argo: 'Argo Workflows'
};

/** The kubeconfig's own current context (or, in a pod, the service account). */
const DEFAULT_ACCESS = '';

export function PipelineSection(props: {
  session: NotebookPipeline;
  cluster: ClusterModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, cluster, trans } = props;
  const p = session.pipeline.analysis?.pipeline;
  if (!p) {
    return null;
  }
  const set = session.pipeline.setPipelineSettings.bind(session.pipeline);
  const target = session.pipeline.target;
  return (
    <Section name="pipeline" title={trans.__('Pipeline settings')} open={false}>
      <TextField name="name" label={trans.__('Name')} value={p.name} onCommit={name => set({ name })} />
      <TextField
        name="description"
        label={trans.__('Description')}
        value={p.description}
        onCommit={description => set({ description })}
      />
      <label className="jp-cellpipe-Field" data-field="target">
        <span className="jp-cellpipe-Field-label">{trans.__('Target')}</span>
        <select
          className="jp-mod-styled"
          value={target}
          onChange={e => set({ target: e.target.value as Target })}
        >
          {TARGETS.map(t => (
            <option key={t} value={t}>
              {trans.__(TARGET_LABELS[t])}
            </option>
          ))}
        </select>
      </label>
      {target !== 'local' && (
        <ClusterSettings session={session} cluster={cluster} target={target} trans={trans} />
      )}
      <CompileButtons session={session} cluster={cluster} trans={trans} />
    </Section>
  );
}

function ClusterSettings(props: {
  session: NotebookPipeline;
  cluster: ClusterModel;
  target: 'kfp' | 'argo';
  trans: TranslationBundle;
}): JSX.Element {
  const { session, cluster, target, trans } = props;
  const p = session.pipeline.analysis!.pipeline;
  const own = session.pipeline.ownPipelineSettings();
  const set = session.pipeline.setPipelineSettings.bind(session.pipeline);
  const report = cluster.report;
  const namespace = p.namespace;
  const accessKey = JSON.stringify(cluster.access);
  React.useEffect(() => {
    void cluster.refresh(namespace || undefined);
  }, [cluster, accessKey, namespace]);
  const check = (field: keyof ReturnType<typeof draftOf>) => (text: string) =>
    clusterSettingProblems(draftOf(field, text))[0]?.problem;
  const access = cluster.access;
  return (
    <div className="jp-cellpipe-ClusterSettings" data-target={target}>
      <h4>{trans.__('Cluster connection')}</h4>
      <label className="jp-cellpipe-Field" data-field="context">
        <span className="jp-cellpipe-Field-label">{trans.__('Kubernetes access')}</span>
        <select
          className="jp-mod-styled"
          value={access.context ?? DEFAULT_ACCESS}
          onChange={e => void cluster.update({ context: e.target.value || undefined })}
        >
          <option value={DEFAULT_ACCESS}>{defaultAccessLabel(report, trans)}</option>
          {(report?.kubeconfig?.contexts ?? []).map(c => (
            <option key={c.name} value={c.name}>
              {trans.__('context %1', c.name)}
            </option>
          ))}
          {access.context && !report?.kubeconfig?.contexts.some(c => c.name === access.context) && (
            <option value={access.context}>{trans.__('context %1 (not found)', access.context)}</option>
          )}
        </select>
        {cluster.problem('context') || cluster.problem('cluster') ? (
          <span className="jp-cellpipe-Field-error" role="alert">
            {cluster.problem('context') ?? cluster.problem('cluster')}
          </span>
        ) : (
          <span className="jp-cellpipe-Field-hint">
            {cluster.loading ? trans.__('Asking the cluster…') : (report?.access ?? cluster.error ?? '')}
          </span>
        )}
      </label>
      {target === 'kfp' && (
        <>
          <TextField
            name="endpoint"
            label={trans.__('KFP endpoint')}
            placeholder={report?.kfp.defaultEndpoint ?? trans.__('required, e.g. https://HOST/pipeline')}
            value={p.endpoint}
            validate={check('endpoint')}
            onCommit={endpoint => set({ endpoint: endpoint.trim() || undefined })}
          />
          <TextField
            name="tokenFile"
            label={trans.__('KFP token file')}
            placeholder={report?.kfp.token ? trans.__("the pod's token") : trans.__('none')}
            value={access.tokenFile ?? ''}
            validate={text =>
              text.trim() && !text.trim().startsWith('/')
                ? trans.__('An absolute path, e.g. /var/run/secrets/kubeflow/pipelines/token')
                : undefined
            }
            error={cluster.problem('tokenFile')}
            onCommit={tokenFile => void cluster.update({ tokenFile: tokenFile.trim() || undefined })}
          />
          <TextField
            name="experiment"
            label={trans.__('Experiment')}
            placeholder="cellpipe"
            value={p.experiment}
            validate={check('experiment')}
            onCommit={experiment => set({ experiment: experiment.trim() || undefined })}
          />
        </>
      )}
      <h4>{trans.__('Where the steps run')}</h4>
      <TextField
        name="namespace"
        label={trans.__('Namespace')}
        placeholder={report?.namespace ?? trans.__('required')}
        value={p.namespace}
        validate={check('namespace')}
        onCommit={ns => set({ namespace: ns.trim() || undefined })}
      />
      <TextField
        name="image"
        label={trans.__('Step image')}
        placeholder={report?.pod?.image ?? trans.__('python:3.12-slim (no data libraries)')}
        hint={report?.pod?.image && !p.image ? trans.__("Default: the notebook pod's image") : undefined}
        value={p.image}
        validate={check('image')}
        onCommit={image => set({ image: image.trim() || undefined })}
      />
      <TextField
        name="volumes"
        label={trans.__('Volumes (claim=/mount/path, …)')}
        placeholder={
          report?.pod?.volumes.length
            ? report.pod.volumes.map(v => `${v.claim}=${v.mountPath}`).join(', ')
            : trans.__('none')
        }
        hint={
          report?.pod?.volumes.length
            ? trans.__("The notebook pod's volumes are always included.")
            : undefined
        }
        value={formatVolumes(p.volumes)}
        validate={check('volumes')}
        onCommit={text => set({ volumes: parseVolumes(text).length ? parseVolumes(text) : undefined })}
      />
      <label className="jp-cellpipe-Check" data-field="snapshot">
        <input
          type="checkbox"
          checked={own.snapshot ?? report?.snapshots?.available ?? true}
          onChange={e => set({ snapshot: e.target.checked })}
        />
        {trans.__('Restore the volumes from snapshots taken at submission')}
      </label>
      <span className="jp-cellpipe-Field-hint" data-field="snapshot-default">
        {own.snapshot === undefined
          ? report?.snapshots
            ? report.snapshots.available
              ? trans.__('Default: on (the cluster can snapshot the volumes).')
              : trans.__('Default: on, mounting the volumes if asked: %1', report.snapshots.reason ?? '')
            : trans.__('Default: on.')
          : own.snapshot
            ? trans.__('Steps see the files as they were when the run was submitted.')
            : trans.__('Steps see the files as they are when each step runs.')}
      </span>
    </div>
  );
}

function defaultAccessLabel(report: ClusterReport | null, trans: TranslationBundle): string {
  if (report?.inCluster && !report.kubeconfig) {
    return trans.__("This pod's service account");
  }
  if (report?.kubeconfig?.current) {
    return trans.__('Current context (%1)', report.kubeconfig.current);
  }
  return trans.__('Default');
}

/** The settings a field's text stands for, to check it. */
function draftOf(
  field: 'endpoint' | 'namespace' | 'experiment' | 'image' | 'volumes',
  text: string
): {
  endpoint?: string;
  namespace?: string;
  experiment?: string;
  image?: string;
  volumes?: VolumeSettings[];
} {
  return field === 'volumes' ? { volumes: parseVolumes(text) } : { [field]: text.trim() };
}

function formatVolumes(volumes: VolumeSettings[]): string {
  return volumes.map(v => `${v.name}=${v.mountPath}`).join(', ');
}

function parseVolumes(text: string): VolumeSettings[] {
  return text
    .split(',')
    .map(part => part.trim())
    .filter(Boolean)
    .map(part => {
      const eq = part.indexOf('=');
      return {
        name: (eq < 0 ? part : part.slice(0, eq)).trim(),
        mountPath: eq < 0 ? '' : part.slice(eq + 1).trim(),
        type: 'snapshot' as const
      };
    });
}

/** Download the cluster YAML, upload to KFP, and what came of the last of these. */
function CompileButtons(props: {
  session: NotebookPipeline;
  cluster: ClusterModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, cluster, trans } = props;
  const outcome = session.compiler.outcome;
  const busy = outcome?.kind === 'busy';
  return (
    <div className="jp-cellpipe-Compile">
      <h4>{trans.__('Compile')}</h4>
      <div className="jp-cellpipe-Buttons">
        <button
          className="jp-mod-styled jp-Button"
          data-action="download-kfp"
          disabled={busy}
          onClick={() => void session.compiler.download('kfp', downloadFile)}
        >
          {trans.__('KFP YAML')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="download-argo"
          disabled={busy}
          onClick={() => void session.compiler.download('argo', downloadFile)}
        >
          {trans.__('Argo YAML')}
        </button>
        <button
          className="jp-mod-styled jp-Button"
          data-action="upload-kfp"
          disabled={busy}
          title={trans.__('Upload to Kubeflow Pipelines as a new version of the pipeline')}
          onClick={() => void session.compiler.upload(cluster.access)}
        >
          {trans.__('Upload to KFP')}
        </button>
      </div>
      {outcome && <CompileOutcomeView outcome={outcome} trans={trans} />}
    </div>
  );
}

function CompileOutcomeView(props: {
  outcome: NonNullable<NotebookPipeline['compiler']['outcome']>;
  trans: TranslationBundle;
}): JSX.Element {
  const { outcome, trans } = props;
  switch (outcome.kind) {
    case 'busy':
      return (
        <p className="jp-cellpipe-Hint">
          {outcome.what === 'upload' ? trans.__('Uploading…') : trans.__('Compiling…')}
        </p>
      );
    case 'error':
      return (
        <p className="jp-cellpipe-Error" role="alert" data-outcome="error">
          {outcome.message}
        </p>
      );
    case 'downloaded':
      return (
        <div className="jp-cellpipe-CompileOutcome" data-outcome="downloaded">
          <p>{trans.__('Downloaded %1.', outcome.filename)}</p>
          {outcome.warnings.map(w => (
            <p key={w} className="jp-cellpipe-Warning">
              {w}
            </p>
          ))}
        </div>
      );
    case 'uploaded': {
      const r = outcome.result;
      return (
        <div className="jp-cellpipe-CompileOutcome" data-outcome="uploaded">
          <p>
            {r.created
              ? trans.__('Created pipeline %1 with version %2.', r.pipelineName, r.versionName)
              : trans.__('Added version %2 to pipeline %1.', r.pipelineName, r.versionName)}{' '}
            <a href={r.url} target="_blank" rel="noopener noreferrer">
              {trans.__('open in the KFP UI')}
            </a>
          </p>
          {r.warnings.map(w => (
            <p key={w} className="jp-cellpipe-Warning">
              {w}
            </p>
          ))}
        </div>
      );
    }
  }
}
