/**
 * The sweep routes: start a sweep (its trials are runs this server owns, seen live like any other), list a
 * notebook's sweeps, read one (the live record while it runs), cancel one. GET requests only read.
 */
import type { SweepRecord } from '../../../src/core/sweeps/sweep-record';
import { StartRunError } from '../runs/start-run';
import { listSweeps, readSweep, startSweep } from '../sweeps/run-sweep';
import { HttpError, serverLog } from './http-json';
import { confinedNotebookPath } from './notebook-path';
import type { Router } from './router';
import type { RunService } from './run-service';
import { clusterAccess, requestNotebook } from './runs-api';

interface ActiveSweep {
  record: SweepRecord;
  notebook: string;
  controller: AbortController;
}

export function addSweepRoutes(router: Router, root: string, runs: RunService, python: string): void {
  const active = new Map<string, ActiveSweep>();
  const notebookFrom = (value: unknown) => confinedNotebookPath(root, value);
  const live = (notebook: string, record: SweepRecord) => {
    const now = active.get(record.id);
    return now && now.notebook === notebook ? now.record : record;
  };

  router
    .add('POST', '/api/sweeps', async ctx => {
      const body = ctx.body;
      const notebookPath = notebookFrom(body.notebook);
      const axes = body.params;
      if (!Array.isArray(axes) || axes.length === 0 || !axes.every(a => typeof a === 'string')) {
        throw new HttpError(400, 'invalid-request', '"params" is a list of "NAME=V1,V2" or "NAME=MIN..MAX".');
      }
      const notebook = await requestNotebook(notebookPath, body.content, String(body.notebook));
      const target = (body.target ?? 'local') as 'local' | 'argo' | 'kfp' | 'katib';
      if (!['local', 'argo', 'kfp', 'katib'].includes(target)) {
        throw new HttpError(400, 'invalid-request', '"target" is "local", "argo", "kfp" or "katib".');
      }
      const connection = clusterAccess(body.connection);
      const controller = new AbortController();
      let started;
      try {
        started = await startSweep({
          notebookPath,
          notebook,
          root,
          axes: axes as string[],
          random: wholeNumber(body.random, 'random'),
          seed: wholeNumber(body.seed, 'seed', 0),
          maxParallel: wholeNumber(body.maxParallel, 'maxParallel'),
          objective: typeof body.objective === 'string' && body.objective ? body.objective : undefined,
          cache: body.cache === undefined ? undefined : body.cache === true,
          jupyterPython: python,
          owner: 'server',
          signal: controller.signal,
          target,
          cluster: () => runs.clusterConnection(connection),
          access: connection,
          followTrial: trial => runs.followSubmitted(notebookPath, trial),
          startTrialRun: (request, onRun) =>
            runs.startTracked(
              notebookPath,
              notebook,
              {
                parameters: Object.fromEntries(
                  request.parameters.map(text => [
                    text.slice(0, text.indexOf('=')),
                    text.slice(text.indexOf('=') + 1)
                  ])
                ),
                cache: request.cache,
                target: target === 'kfp' ? 'kfp' : 'local',
                connection
              },
              onRun
            )
        });
      } catch (err) {
        if (err instanceof StartRunError) {
          throw new HttpError(err.status, err.code, err.message);
        }
        throw err;
      }
      const { record } = started;
      active.set(record.id, { record, notebook: notebookPath, controller });
      // Cancelling the sweep cancels the trials that run; the others are not started.
      controller.signal.addEventListener('abort', () => {
        for (const trial of record.trials) {
          if (trial.run && trial.status === 'running') {
            runs.cancel(trial.run);
          }
        }
      });
      started.done.then(
        () => active.delete(record.id),
        err => {
          serverLog(`cellpipe server: sweep ${record.id} ended with an internal error: ${String(err)}`);
          active.delete(record.id);
        }
      );
      return { status: 201, body: { sweep: record.id, record } };
    })
    .add('GET', '/api/sweeps', async ctx => {
      const notebook = notebookFrom(ctx.query.get('notebook'));
      const sweeps = (await listSweeps(notebook)).map(s => live(notebook, s));
      return { status: 200, body: { sweeps } };
    })
    .add('GET', '/api/sweeps/:id', async ctx => {
      const notebook = notebookFrom(ctx.query.get('notebook'));
      const record = await readSweep(notebook, ctx.params.id);
      if (!record) {
        throw new HttpError(404, 'no-such-sweep', `There is no sweep ${ctx.params.id}.`);
      }
      return { status: 200, body: live(notebook, record) };
    })
    .add('POST', '/api/sweeps/:id/cancel', ctx => {
      const sweep = active.get(ctx.params.id);
      if (!sweep) {
        throw new HttpError(409, 'not-running', `Sweep ${ctx.params.id} is not running.`);
      }
      sweep.controller.abort();
      return { status: 202, body: { sweep: ctx.params.id, status: 'cancelling' } };
    });
}

function wholeNumber(value: unknown, field: string, min = 1): number | undefined {
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new HttpError(400, 'invalid-request', `"${field}" is a whole number of at least ${min}.`);
  }
  return value as number;
}
