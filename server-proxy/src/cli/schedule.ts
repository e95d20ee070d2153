/**
 * `cellpipe schedule NOTEBOOK --cron "0 6 * * *" [--timezone ZONE] [--target argo|kfp] [--param NAME=VALUE]...
 * [--name NAME]` makes a recurring run; `--list` shows a notebook's schedules (next run, last run, paused),
 * `--pause NAME`, `--resume NAME`, `--delete NAME` act on one. One command with options, as `cellpipe runs
 * --show` is, so that `cellpipe schedule --help` shows all of it.
 *
 * Exit status: 0 done, 1 refused by the cluster or error diagnostics, 2 usage errors (a bad cron, a local
 * target).
 */
import { dirname, join, resolve } from 'path';
import type { ScheduleRecord, ScheduleView } from '../../../src/core/schedules/schedule';
import { ConnectionFlags, environmentConnection } from '../engines/cluster/connection';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { loadNotebookFile } from '../notebook-file';
import { StartRunError } from '../runs/start-run';
import {
  catchUpScheduledRuns,
  createSchedule,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  readSchedule,
  scheduleRecords
} from '../schedules/schedules';
import { reportNotStarted, UsageError } from './pipeline-input';

export interface ScheduleCliOptions extends ConnectionFlags {
  cron?: string;
  timezone?: string;
  target?: string;
  param: string[];
  name?: string;
  list?: boolean;
  pause?: string;
  resume?: string;
  delete?: string;
  mountVolumes?: boolean;
  image?: string;
  runStorageClass?: string;
  json?: boolean;
}

export async function scheduleCommand(
  notebook: string | undefined,
  options: ScheduleCliOptions
): Promise<number> {
  const actions = [
    options.cron !== undefined,
    !!options.list,
    !!options.pause,
    !!options.resume,
    !!options.delete
  ];
  if (actions.filter(Boolean).length !== 1) {
    throw new UsageError(
      'say one thing to do: cellpipe schedule NOTEBOOK --cron "0 6 * * *", or --list, --pause NAME, ' +
        '--resume NAME, --delete NAME'
    );
  }
  const connection = (record?: Pick<ScheduleRecord, 'access'>) =>
    environmentConnection({
      ...options,
      context: options.context ?? record?.access?.context,
      tokenFile: options.tokenFile ?? record?.access?.tokenFile
    });
  if (options.cron !== undefined) {
    if (!notebook) {
      throw new UsageError('say which notebook: cellpipe schedule NOTEBOOK --cron "0 6 * * *"');
    }
    if (options.target !== undefined && !['argo', 'kfp', 'local'].includes(options.target)) {
      throw new UsageError(`--target ${options.target}: a schedule runs on argo or kfp`);
    }
    const notebookPath = resolve(notebook);
    let view: ScheduleView;
    try {
      view = await createSchedule({
        notebookPath,
        notebook: await loadNotebookFile(notebookPath),
        cron: options.cron,
        timezone: options.timezone,
        target: options.target,
        name: options.name,
        parameters: options.param,
        volumes: options.mountVolumes ? 'mount' : undefined,
        image: options.image,
        runStorageClass: options.runStorageClass,
        pollMs: Number(process.env.CELLPIPE_POLL_MS ?? '') || undefined,
        access: {
          ...(options.context ? { context: options.context } : {}),
          ...(options.tokenFile ? { tokenFile: resolve(options.tokenFile) } : {})
        },
        cluster: () => connection()
      });
    } catch (err) {
      if (err instanceof StartRunError) {
        return reportNotStarted(notebook, err, 'scheduling', options.json);
      }
      throw err;
    }
    if (options.json) {
      process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    } else {
      for (const warning of view.warnings ?? []) {
        process.stderr.write(`cellpipe: warning: ${warning}\n`);
      }
      process.stdout.write(
        `scheduled ${view.name} on ${view.target} (${where(view)} in ${view.namespace}): ${view.cron} ${view.timezone}, ` +
          `next run ${view.nextRun ?? '-'}` +
          (view.cluster.url ? `\n${view.cluster.url}` : '') +
          (view.volumes === 'snapshot' && view.snapshots.some(s => s.snapshot)
            ? `\nEach run restores the workspace from ${view.snapshots.flatMap(s => (s.snapshot ? [s.snapshot] : [])).join(', ')} (the files as they are now).`
            : '') +
          '\n'
      );
    }
    return 0;
  }
  if (options.list) {
    if (!notebook) {
      throw new UsageError('say which notebook: cellpipe schedule NOTEBOOK --list');
    }
    const notebookPath = resolve(notebook);
    const { schedules, newRuns } = await listSchedules(notebookPath, r => connection(r));
    await catchUpRuns(newRuns, connection());
    if (options.json) {
      process.stdout.write(JSON.stringify({ schedules }, null, 2) + '\n');
    } else if (schedules.length === 0) {
      process.stdout.write(
        `No schedules of ${notebook}: make one with cellpipe schedule ${notebook} --cron "0 6 * * *"\n`
      );
    } else {
      printTable(schedules);
    }
    return schedules.some(s => s.problem) ? 1 : 0;
  }
  const name = (options.pause ?? options.resume ?? options.delete)!;
  const record = await findSchedule(name, notebook);
  try {
    if (options.delete) {
      const left = await deleteSchedule(record, connection(record));
      if (left.length > 0) {
        process.stderr.write(
          `cellpipe: warning: the VolumeSnapshots ${left.join(', ')} could not be deleted; delete them yourself.\n`
        );
      }
    } else {
      await pauseSchedule(record, connection(record), !!options.pause);
    }
  } catch (err) {
    if (err instanceof ClusterError) {
      process.stderr.write(`cellpipe: ${err.message}\n`);
      if (options.json) {
        process.stdout.write(
          JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2) + '\n'
        );
      }
      return 1;
    }
    throw err;
  }
  const did = options.delete ? 'deleted' : options.pause ? 'paused' : 'resumed';
  if (options.json) {
    process.stdout.write(JSON.stringify({ schedule: name, status: did }, null, 2) + '\n');
  } else {
    process.stdout.write(
      `${did} schedule ${name} (${record.target} ${where(record)} in ${record.namespace})\n`
    );
  }
  return 0;
}

/** The runs the schedules started, recorded by `cellpipe runs` and `--list` as the server would. */
export async function catchUpRuns(
  newRuns: Awaited<ReturnType<typeof listSchedules>>['newRuns'],
  connection: ReturnType<typeof environmentConnection>
): Promise<void> {
  if (newRuns.length > 0) {
    await catchUpScheduledRuns(newRuns, connection, Number(process.env.CELLPIPE_POLL_MS ?? '') || undefined);
  }
}

/** `cellpipe runs`: records the runs the notebook's schedules started before listing (quietly: no cluster, no news). */
export async function recordRunsOfSchedules(notebookPath: string): Promise<void> {
  const records = await scheduleRecords(notebookPath);
  if (records.length === 0) {
    return;
  }
  const connect = (record?: ScheduleRecord) =>
    environmentConnection({ context: record?.access?.context, tokenFile: record?.access?.tokenFile });
  const { newRuns } = await listSchedules(notebookPath, r => connect(r));
  await catchUpRuns(newRuns, connect(records[0]));
}

async function findSchedule(name: string, notebook: string | undefined): Promise<ScheduleRecord> {
  const notebookPath = notebook ? resolve(notebook) : join(process.cwd(), '_.ipynb');
  const record = await readSchedule(notebookPath, name);
  if (!record) {
    throw new UsageError(
      `there is no schedule ${name} in ${join(dirname(notebookPath), '.cellpipe', 'schedules')}` +
        (notebook ? '' : ' (give the notebook: cellpipe schedule NOTEBOOK --list)')
    );
  }
  return record;
}

function where(record: ScheduleRecord): string {
  return record.target === 'argo'
    ? `CronWorkflow ${record.cluster.name}`
    : `recurring run ${record.cluster.id}`;
}

function printTable(schedules: ScheduleView[]): void {
  const rows = [
    ['NAME', 'TARGET', 'SCHEDULE', 'STATE', 'NEXT RUN', 'LAST RUN', 'RUNS'],
    ...schedules.map(s => [
      s.name,
      s.target,
      `${s.cron} (${s.timezone})`,
      s.problem ? 'unknown' : s.paused ? 'paused' : 'active',
      s.nextRun ?? '-',
      s.lastRun ?? '-',
      String(s.runs.length)
    ])
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
  for (const row of rows) {
    process.stdout.write(
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd() + '\n'
    );
  }
  for (const s of schedules.filter(s => s.problem)) {
    process.stderr.write(`cellpipe: ${s.name}: ${s.problem}\n`);
  }
}
