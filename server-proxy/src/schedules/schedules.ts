/**
 * Recurring runs: the one service behind `cellpipe schedule` and `/api/schedules`. A schedule is the
 * pipeline compiled as a cluster run is (`prepareClusterRun`), with the workspace snapshotted once, when it
 * is made, handed to Argo as a CronWorkflow or to KFP as a recurring run of an uploaded pipeline version.
 *
 * Every run it starts restores the workspace from those VolumeSnapshots, so it sees the files as they were
 * when the schedule was made, like the step programs, which are compiled in then too: code and files stay
 * together. The snapshots belong to the schedule (labelled with it) and are deleted with it, never by the
 * end of a run. `mount` volumes instead let each run see the files as they are when it runs.
 *
 * `.cellpipe/schedules/NAME.json` beside the notebook records where the schedule lives; its live state
 * (paused, last run) is read from the cluster. The runs a schedule starts are found by its label and
 * recorded in the notebook's runs folder as cluster runs with no owner, which a server follows.
 */
import { mkdir, readdir, readFile, rm } from 'fs/promises';
import { basename, dirname, join } from 'path';
import type { RecordedSnapshot, RunRecord } from '../../../src/core/runs/run-record';
import { runRefusal } from '../../../src/core/runs/refusal';
import {
  defaultScheduleName,
  kfpCron,
  nextRunTimes,
  ScheduleRecord,
  scheduleNameProblem,
  scheduleProblem,
  ScheduleView
} from '../../../src/core/schedules/schedule';
import type { NotebookData } from '../../../src/core/notebook/model';
import { argoCronWorkflow, SCHEDULE_LABEL } from '../../../src/core/targets/argo-cron';
import type { ArgoWorkflow } from '../../../src/core/targets/argo-workflow';
import type { KfpDocuments } from '../../../src/core/targets/kfp';
import { kfpYaml } from '../../../src/core/targets/kfp';
import { defaultPipelineName } from '../../../src/core/tags/settings';
import { writeJsonAtomic } from '../atomic-file';
import { argoUrl } from '../engines/cluster/argo-engine';
import { ClusterError, clusterError } from '../engines/cluster/cluster-errors';
import { prepareClusterRun, refollowClusterRun } from '../engines/cluster/cluster-submit';
import { ClusterConnection, kfpEndpoint, kubeAccess } from '../engines/cluster/connection';
import { KfpClient } from '../engines/cluster/kfp-client';
import { uploadVersion, versionName } from '../engines/cluster/kfp-pipelines';
import type { KubeClients } from '../engines/cluster/kube-client';
import { deleteSnapshots } from '../engines/cluster/snapshots';
import { RunJournal } from '../runs/run-journal';
import { ownerOfThisProcess } from '../runs/run-lease';
import { analyseRunNotebook, clusterConnectionOf, parameterValues, StartRunError } from '../runs/start-run';
import { listRuns, runsDir } from '../runs/run-store';

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';
const PLURAL = 'cronworkflows';

export function schedulesDir(notebookPath: string): string {
  return join(dirname(notebookPath), '.cellpipe', 'schedules');
}

export interface CreateScheduleOptions {
  notebookPath: string;
  notebook: NotebookData;
  /** The server's Jupyter root (see `StartOptions.root`). */
  root?: string;
  cron: string;
  timezone?: string;
  target?: string;
  name?: string;
  /** `NAME=VALUE` texts, typed by the notebook's parameters. */
  parameters?: string[];
  /** `mount`: each run sees the workspace volumes as they are when it runs (default: snapshots). */
  volumes?: 'snapshot' | 'mount';
  image?: string;
  runStorageClass?: string;
  pollMs?: number;
  access?: ScheduleRecord['access'];
  cluster: () => ClusterConnection;
}

/** The message for a schedule asked of the local engine: what to set instead. */
export function needsClusterMessage(file: string): string {
  return (
    `${file}: a schedule runs on a cluster, and this pipeline's target is local. Give --target argo or ` +
    "--target kfp, or set the pipeline's target to Argo or KFP " +
    '(Pipeline settings, saved as metadata.cellpipe.target), with a cluster connection (KUBECONFIG, and for ' +
    'KFP its endpoint).'
  );
}

export async function createSchedule(options: CreateScheduleOptions): Promise<ScheduleView> {
  const { notebookPath, notebook } = options;
  const file = basename(notebookPath);
  const spec = { cron: options.cron, timezone: options.timezone || 'UTC' };
  const problem = scheduleProblem(spec);
  if (problem) {
    throw new StartRunError('invalid-schedule', 400, `${file}: ${problem}.`, true);
  }
  const analysis = await analyseRunNotebook(notebookPath, notebook, options.root);
  const target = options.target ?? analysis.pipeline.target;
  if (target !== 'argo' && target !== 'kfp') {
    throw new StartRunError('needs-cluster', 400, needsClusterMessage(file), true);
  }
  const refused = runRefusal(analysis, { file, target, steps: { mode: 'all' } });
  if (refused) {
    throw new StartRunError(refused.code, 422, refused.message, false, refused.errors);
  }
  if (target === 'kfp' && spec.timezone !== 'UTC') {
    throw new StartRunError(
      'invalid-schedule',
      400,
      `${file}: KFP recurring runs have no time zone (its API has none): they fire in the zone of KFP's ` +
        'scheduled-workflow controller, UTC unless its CRON_SCHEDULE_TIMEZONE says otherwise. Give the ' +
        'time in UTC (--timezone UTC), or schedule on Argo, whose CronWorkflows take a time zone.',
      true
    );
  }
  const name = options.name ?? defaultScheduleName(analysis.pipeline.name);
  const nameProblem = scheduleNameProblem(name);
  if (nameProblem) {
    throw new StartRunError('invalid-schedule', 400, `${file}: ${nameProblem}.`, true);
  }
  if (await readSchedule(notebookPath, name)) {
    throw new StartRunError(
      'already-exists',
      409,
      `${file}: there is a schedule ${name} already; delete it first or give another --name.`,
      true
    );
  }
  const parameters = parameterValues(options.parameters ?? [], analysis);
  const connection = clusterConnectionOf(options.cluster);
  try {
    const prepared = await prepareClusterRun(
      {
        ...connection,
        target,
        notebookPath,
        notebook,
        analysis,
        parameters,
        volumes: options.volumes,
        image: options.image,
        runStorageClass: options.runStorageClass,
        pollMs: options.pollMs
      },
      `schedule-${name}`,
      { [SCHEDULE_LABEL]: name }
    );
    const { compiled, workspace, kube } = prepared;
    const namespace = workspace.namespace;
    let cluster: ScheduleRecord['cluster'];
    try {
      if (target === 'argo') {
        const cron = argoCronWorkflow(compiled.documents as ArgoWorkflow, { name, schedule: spec });
        await kube('create the Argo CronWorkflow')
          .custom.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            body: cron
          })
          .catch(err => {
            throw clusterError(err, {
              action: `create the Argo CronWorkflow ${name}`,
              namespace,
              server: kube('create the Argo CronWorkflow').server,
              service: 'Kubernetes'
            });
          });
        cluster = { name, url: argoCronUrl(namespace, name) };
      } else {
        const endpoint = kfpEndpoint(connection, analysis);
        const client = new KfpClient(endpoint, connection.kfpToken, namespace);
        const documents = compiled.documents as Pick<KfpDocuments, 'pipelineSpec' | 'platformSpec'>;
        const version = await uploadVersion(client, {
          name: defaultPipelineName(analysis.pipeline.name),
          description: analysis.pipeline.description,
          version: versionName(analysis.pipeline.name),
          file: { filename: `${name}.yaml`, text: kfpYaml({ ...documents, plan: compiled.plan }) }
        });
        const experimentId = await client.experimentId(analysis.pipeline.experiment || 'cellpipe');
        const created = await client.createRecurringRun({
          display_name: name,
          description: `cellpipe schedule of ${file}`,
          pipeline_version_reference: {
            pipeline_id: version.pipelineId,
            pipeline_version_id: version.versionId
          },
          runtime_config: { parameters: prepared.parameters },
          trigger: { cron_schedule: { cron: kfpCron(spec.cron) } },
          mode: 'ENABLE',
          max_concurrency: '1',
          no_catchup: true,
          ...(experimentId ? { experiment_id: experimentId } : {})
        });
        cluster = {
          id: created.recurring_run_id,
          pipelineId: version.pipelineId,
          versionId: version.versionId,
          experimentId,
          endpoint,
          url: `${client.runUrl('').replace(/#\/runs\/details\/$/, '')}#/recurringrun/details/${created.recurring_run_id}`
        };
      }
    } catch (err) {
      throw await prepared.abandon(err);
    }
    const snapshots: RecordedSnapshot[] = [
      ...prepared.taken.map(t => ({
        claim: t.claim,
        mountPath: t.mountPath,
        snapshot: t.snapshot,
        snapshotClass: t.snapshotClass,
        restoreSize: t.restoreSize
      })),
      ...workspace.mounted.map(v => ({ claim: v.claim, mountPath: v.mountPath }))
    ];
    const runnable = compiled.plan.steps.map(s => s.runnable);
    const record: ScheduleRecord = {
      name,
      notebook: notebookPath,
      pipeline: analysis.pipeline.name,
      target,
      cron: spec.cron.trim(),
      timezone: spec.timezone,
      parameters,
      created: new Date().toISOString(),
      namespace,
      cluster,
      snapshots,
      volumes: prepared.mode,
      clusterTasks: Object.fromEntries(compiled.plan.steps.map(s => [s.runnable.name, s.name])),
      order: runnable.map(r => r.name),
      deps: Object.fromEntries(
        runnable.map(r => [r.name, [...new Set([...r.deps, ...Object.values(r.sources)])].sort()])
      ),
      ...(options.access && Object.keys(options.access).length > 0 ? { access: options.access } : {}),
      ...(prepared.warnings.length > 0 ? { warnings: prepared.warnings } : {})
    };
    await mkdir(schedulesDir(notebookPath), { recursive: true });
    await writeJsonAtomic(join(schedulesDir(notebookPath), `${name}.json`), record);
    return { ...record, paused: false, nextRun: nextRunTimes(spec, new Date())[0], runs: [] };
  } catch (err) {
    if (err instanceof ClusterError) {
      throw new StartRunError(err.code, err.httpStatus, err.message);
    }
    throw err;
  }
}

/** The Argo UI page of a CronWorkflow when `CELLPIPE_ARGO_UI_URL` says where the UI is. */
function argoCronUrl(namespace: string, name: string): string | undefined {
  return argoUrl(namespace, name)?.replace('/workflows/', '/cron-workflows/');
}

export async function readSchedule(notebookPath: string, name: string): Promise<ScheduleRecord | null> {
  if (scheduleNameProblem(name)) {
    return null;
  }
  try {
    return JSON.parse(
      await readFile(join(schedulesDir(notebookPath), `${name}.json`), 'utf8')
    ) as ScheduleRecord;
  } catch {
    return null;
  }
}

/** The notebook's schedules (records only), by name. */
export async function scheduleRecords(notebookPath: string): Promise<ScheduleRecord[]> {
  let files: string[];
  try {
    files = await readdir(schedulesDir(notebookPath));
  } catch {
    return [];
  }
  const records = await Promise.all(
    files.filter(f => f.endsWith('.json')).map(f => readSchedule(notebookPath, f.slice(0, -5)))
  );
  return records
    .filter((r): r is ScheduleRecord => r !== null && r.notebook === notebookPath)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One schedule's state on the cluster. */
interface LiveState {
  paused: boolean;
  lastRun?: string;
  problem?: string;
}

async function liveState(record: ScheduleRecord, connection: ClusterConnection): Promise<LiveState> {
  try {
    if (record.target === 'argo') {
      const kube = kubeAccess(connection)('read the Argo CronWorkflow');
      const cron = (await kube.custom
        .getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: record.namespace,
          plural: PLURAL,
          name: record.cluster.name!
        })
        .catch(err => {
          throw clusterError(err, cronAttempt(kube, record, 'read'));
        })) as {
        spec?: { suspend?: boolean };
        status?: { lastScheduledTime?: string; conditions?: { type?: string; message?: string }[] };
      };
      // The controller refuses a spec it cannot run (a schedule it cannot parse) with this condition.
      const specError = cron.status?.conditions?.find(c => c.type === 'SpecError');
      return {
        paused: cron.spec?.suspend === true,
        lastRun: cron.status?.lastScheduledTime,
        ...(specError
          ? { problem: `Argo refuses the CronWorkflow: ${specError.message ?? 'SpecError'}` }
          : {})
      };
    }
    const client = kfpClient(record, connection);
    const run = await client.getRecurringRun(record.cluster.id!);
    const runs = record.cluster.experimentId ? await client.listRuns(record.cluster.experimentId) : [];
    const last = runs.find(r => r.recurring_run_id === record.cluster.id);
    return { paused: run.status === 'DISABLED' || run.mode === 'DISABLE', lastRun: last?.created_at };
  } catch (err) {
    const e = err instanceof ClusterError ? err : new ClusterError('unreachable', String(err));
    return {
      paused: false,
      problem:
        e.code === 'not-found'
          ? `The schedule is no longer on the cluster (${e.message}); delete it here to forget it.`
          : e.message
    };
  }
}

function cronAttempt(kube: KubeClients, record: ScheduleRecord, verb: string) {
  return {
    action: `${verb} the Argo CronWorkflow ${record.cluster.name}`,
    namespace: record.namespace,
    server: kube.server,
    service: 'Kubernetes'
  };
}

function kfpClient(record: ScheduleRecord, connection: ClusterConnection): KfpClient {
  return new KfpClient(
    record.cluster.endpoint ?? connection.endpoint ?? '',
    connection.kfpToken,
    record.namespace
  );
}

/**
 * The notebook's schedules with their state on the cluster; the runs they started since last asked are
 * recorded first (`recordScheduledRuns`).
 */
export async function listSchedules(
  notebookPath: string,
  connection: (record: ScheduleRecord) => ClusterConnection,
  /** Record the runs they started (a GET of the server only reads: it asks with false). */
  record = true,
  now = new Date()
): Promise<{ schedules: ScheduleView[]; newRuns: Array<{ dir: string; record: RunRecord }> }> {
  const recordRuns = record;
  const records = await scheduleRecords(notebookPath);
  const newRuns: Array<{ dir: string; record: RunRecord }> = [];
  const states = await Promise.all(
    records.map(async record => {
      let conn: ClusterConnection;
      try {
        conn = connection(record);
      } catch (err) {
        return { paused: false, problem: (err as Error).message };
      }
      const state = await liveState(record, conn);
      if (!state.problem && recordRuns) {
        newRuns.push(...(await recordScheduledRuns(record, conn).catch(() => [])));
      }
      return state;
    })
  );
  const runs = await listRuns(notebookPath);
  const schedules = records.map((record, i) => {
    const state = states[i];
    return {
      ...record,
      ...state,
      nextRun: state.paused || state.problem ? undefined : nextRunTimes(record, now)[0],
      runs: runs.filter(r => r.schedule === record.name).map(r => r.id)
    };
  });
  return { schedules, newRuns };
}

/** A run id for a run a schedule started: from when it was created and its cluster name, the same every time. */
export function scheduledRunId(created: string | undefined, clusterName: string): string {
  const time = created && !Number.isNaN(Date.parse(created)) ? new Date(created) : new Date(0);
  const stamp = time.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let h = 0x811c9dc5;
  for (const c of clusterName) {
    h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  }
  return `${stamp}-${(h & 0xffff).toString(16).padStart(4, '0')}`;
}

interface ScheduledCluster {
  id: string;
  created?: string;
  cluster: NonNullable<RunRecord['cluster']>;
}

/** The runs the schedule started that the cluster still has. */
async function scheduledOnCluster(
  record: ScheduleRecord,
  connection: ClusterConnection
): Promise<ScheduledCluster[]> {
  if (record.target === 'argo') {
    const kube = kubeAccess(connection)('list the workflows of the schedule');
    const list = (await kube.custom
      .listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: record.namespace,
        plural: 'workflows',
        labelSelector: `${SCHEDULE_LABEL}=${record.name}`
      })
      .catch(err => {
        throw clusterError(err, cronAttempt(kube, record, 'list the workflows of'));
      })) as { items?: Array<{ metadata?: { name?: string; creationTimestamp?: string } }> };
    return (list.items ?? []).flatMap(wf => {
      const name = wf.metadata?.name;
      return name
        ? [
            {
              id: scheduledRunId(wf.metadata?.creationTimestamp, name),
              created: wf.metadata?.creationTimestamp,
              cluster: {
                kind: 'argo' as const,
                name,
                namespace: record.namespace,
                url: argoUrl(record.namespace, name)
              }
            }
          ]
        : [];
    });
  }
  if (!record.cluster.experimentId) {
    return [];
  }
  const client = kfpClient(record, connection);
  const runs = await client.listRuns(record.cluster.experimentId);
  return runs
    .filter(r => r.recurring_run_id === record.cluster.id)
    .map(r => ({
      id: scheduledRunId(r.created_at, r.run_id),
      created: r.created_at,
      cluster: {
        kind: 'kfp' as const,
        id: r.run_id,
        namespace: record.namespace,
        endpoint: record.cluster.endpoint,
        url: client.runUrl(r.run_id)
      }
    }));
}

/**
 * Records each run the schedule started that has no run folder yet: a cluster run marked running, with no
 * owner, so a server follows it (as it follows any cluster run whose follower is gone) and the runs list
 * shows it like a submitted run. Making the folder is what claims it: two processes never record one twice.
 */
export async function recordScheduledRuns(
  record: ScheduleRecord,
  connection: ClusterConnection
): Promise<Array<{ dir: string; record: RunRecord }>> {
  const found = await scheduledOnCluster(record, connection);
  const made: Array<{ dir: string; record: RunRecord }> = [];
  await mkdir(runsDir(record.notebook), { recursive: true });
  for (const run of found) {
    const dir = join(runsDir(record.notebook), run.id);
    try {
      await mkdir(dir);
    } catch {
      continue; // recorded already
    }
    await mkdir(join(dir, 'logs'), { recursive: true });
    const owner = ownerOfThisProcess('server');
    const runRecord: RunRecord = {
      id: run.id,
      notebook: record.notebook,
      pipeline: record.pipeline,
      status: 'running',
      started: run.created ?? new Date().toISOString(),
      parameters: record.parameters,
      order: record.order,
      plan: { deps: record.deps, cacheKeys: {}, reuse: {} },
      // The schedule started it; no process of this machine owns it (no lease), so a server follows it.
      owner: { ...owner, pid: 0 },
      steps: Object.fromEntries(record.order.map(s => [s, { status: 'queued', cached: false }])),
      metrics: {},
      target: record.target,
      cluster: run.cluster,
      clusterTasks: record.clusterTasks,
      snapshots: record.snapshots,
      volumes: record.volumes,
      schedule: record.name,
      ...(record.access ? { access: record.access } : {})
    };
    await new RunJournal(dir, runRecord).save();
    made.push({ dir, record: runRecord });
  }
  return made;
}

/**
 * Brings the recorded runs up to date for a shell that does not follow them (the CLI): each newly recorded
 * run is followed for a moment, so one that already ended is recorded as it ended.
 */
export async function catchUpScheduledRuns(
  runs: Array<{ dir: string; record: RunRecord }>,
  connection: ClusterConnection,
  pollMs?: number
): Promise<void> {
  await Promise.all(
    runs.map(({ dir, record }) =>
      refollowClusterRun(dir, record, connection, { timeoutMs: 2 * (pollMs ?? 1000), pollMs })?.catch(
        () => undefined
      )
    )
  );
}

/** Pauses (`true`) or resumes a schedule on the cluster. */
export async function pauseSchedule(
  record: ScheduleRecord,
  connection: ClusterConnection,
  paused: boolean
): Promise<void> {
  if (record.target === 'argo') {
    const kube = kubeAccess(connection)(`${paused ? 'pause' : 'resume'} the schedule`);
    await kube.custom
      .patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: record.namespace,
        plural: PLURAL,
        name: record.cluster.name!,
        body: [{ op: 'add', path: '/spec/suspend', value: paused }]
      })
      .catch(err => {
        throw clusterError(err, cronAttempt(kube, record, paused ? 'suspend' : 'resume'));
      });
    return;
  }
  await kfpClient(record, connection).setRecurringRun(record.cluster.id!, paused ? 'disable' : 'enable');
}

/**
 * Deletes a schedule: its CronWorkflow or recurring run (one the cluster no longer has is fine), then its
 * VolumeSnapshots, then its record. The runs it started and their records stay; so does a KFP pipeline
 * version (other runs may use it).
 */
export async function deleteSchedule(
  record: ScheduleRecord,
  connection: ClusterConnection
): Promise<string[]> {
  const gone = (err: unknown) => {
    if (err instanceof ClusterError && err.code === 'not-found') {
      return;
    }
    throw err;
  };
  if (record.target === 'argo') {
    const kube = kubeAccess(connection)('delete the schedule');
    await kube.custom
      .deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: record.namespace,
        plural: PLURAL,
        name: record.cluster.name!
      })
      .catch(err => gone(clusterError(err, cronAttempt(kube, record, 'delete'))));
  } else {
    await kfpClient(record, connection).deleteRecurringRun(record.cluster.id!).catch(gone);
  }
  const names = record.snapshots.flatMap(s => (s.snapshot ? [s.snapshot] : []));
  const left =
    names.length > 0
      ? await deleteSnapshots(
          kubeAccess(connection)("delete the schedule's snapshots"),
          record.namespace,
          names
        )
      : [];
  await rm(join(schedulesDir(record.notebook), `${record.name}.json`), { force: true });
  return left;
}
