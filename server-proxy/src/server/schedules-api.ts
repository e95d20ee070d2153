/**
 * The schedule routes: make a recurring run of a notebook's pipeline on the cluster, list the notebook's
 * schedules with their state, record the runs they started since last asked (followed by this server, so
 * they appear in the runs list and the event stream like any cluster run), pause, resume and delete one.
 */
import type { ScheduleRecord } from '../../../src/core/schedules/schedule';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { StartRunError } from '../runs/start-run';
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  readSchedule
} from '../schedules/schedules';
import { HttpError, serverLog } from './http-json';
import { confinedNotebookPath } from './notebook-path';
import type { Router } from './router';
import type { RunService } from './run-service';
import { clusterAccess, requestNotebook } from './runs-api';

export function addScheduleRoutes(router: Router, root: string, runs: RunService): void {
  const notebookFrom = (value: unknown) => confinedNotebookPath(root, value);
  const text = (value: unknown, field: string, required = false): string | undefined => {
    if (value === undefined || value === null || value === '') {
      if (required) {
        throw new HttpError(400, 'invalid-request', `"${field}" is required.`);
      }
      return undefined;
    }
    if (typeof value !== 'string') {
      throw new HttpError(400, 'invalid-request', `"${field}" is a string.`);
    }
    return value;
  };
  const found = async (notebook: string, name: string): Promise<ScheduleRecord> => {
    const record = await readSchedule(notebook, name);
    if (!record) {
      throw new HttpError(404, 'no-such-schedule', `There is no schedule ${name}.`);
    }
    return record;
  };
  const onCluster = async <T>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (err) {
      if (err instanceof ClusterError) {
        throw new HttpError(err.httpStatus, err.code, err.message);
      }
      throw err;
    }
  };

  router
    .add('POST', '/api/schedules', async ctx => {
      const body = ctx.body;
      const notebookPath = notebookFrom(body.notebook);
      const parameters = body.parameters ?? {};
      if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
        throw new HttpError(400, 'invalid-request', '"parameters" is an object of NAME: VALUE texts.');
      }
      const notebook = await requestNotebook(notebookPath, body.content, String(body.notebook));
      const access = clusterAccess(body.connection);
      try {
        const schedule = await createSchedule({
          notebookPath,
          notebook,
          root,
          cron: text(body.cron, 'cron', true)!,
          timezone: text(body.timezone, 'timezone'),
          target: text(body.target, 'target'),
          name: text(body.name, 'name'),
          parameters: Object.entries(parameters as Record<string, unknown>).map(
            ([k, v]) => `${k}=${String(v)}`
          ),
          volumes: body.volumes === 'mount' ? 'mount' : undefined,
          access,
          cluster: () => runs.clusterConnection(access)
        });
        return { status: 201, body: { schedule: schedule } };
      } catch (err) {
        if (err instanceof StartRunError) {
          throw new HttpError(err.status, err.code, err.message);
        }
        throw err;
      }
    })
    .add('GET', '/api/schedules', async ctx => {
      // A GET only reads: the runs the schedules started are recorded by the POST below.
      const notebook = notebookFrom(ctx.query.get('notebook'));
      const { schedules } = await listSchedules(notebook, r => runs.clusterConnection(r.access), false);
      return { status: 200, body: { schedules } };
    })
    .add('POST', '/api/schedules/runs', async ctx => {
      const notebook = notebookFrom(ctx.body.notebook);
      const { newRuns } = await listSchedules(notebook, r => runs.clusterConnection(r.access));
      if (newRuns.length > 0) {
        // Recorded without an owner: the server follows them as it follows any cluster run left alone.
        await runs
          .adopt(notebook)
          .catch(err => serverLog(`cellpipe server: following scheduled runs: ${String(err)}`));
      }
      return { status: 200, body: { recorded: newRuns.map(r => r.record.id) } };
    })
    .add('POST', '/api/schedules/:name/pause', async ctx => {
      const notebook = notebookFrom(ctx.body.notebook);
      const record = await found(notebook, ctx.params.name);
      await onCluster(() => pauseSchedule(record, runs.clusterConnection(record.access), true));
      return { status: 200, body: { schedule: record.name, paused: true } };
    })
    .add('POST', '/api/schedules/:name/resume', async ctx => {
      const notebook = notebookFrom(ctx.body.notebook);
      const record = await found(notebook, ctx.params.name);
      await onCluster(() => pauseSchedule(record, runs.clusterConnection(record.access), false));
      return { status: 200, body: { schedule: record.name, paused: false } };
    })
    .add('DELETE', '/api/schedules/:name', async ctx => {
      const notebook = notebookFrom(ctx.query.get('notebook'));
      const record = await found(notebook, ctx.params.name);
      const left = await onCluster(() => deleteSchedule(record, runs.clusterConnection(record.access)));
      return { status: 200, body: { schedule: record.name, deleted: true, snapshotsLeft: left } };
    });
}
