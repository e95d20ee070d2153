/**
 * The run routes: start, list, get, cancel, take over orphans, step logs (optionally followed), step
 * outputs, a step's inputs for the kernel, live events. GET requests only read: nothing is started, resumed or written on a GET.
 */
import { createReadStream, realpathSync } from 'fs';
import { readFile, stat } from 'fs/promises';
import { basename, join, relative, sep } from 'path';
import { readNotebook, NotebookFormatError } from '../../../src/core/notebook/read';
import type { NotebookData } from '../../../src/core/notebook/model';
import type { ClusterAccess, RunEvent, RunRecord } from '../../../src/core/runs/run-record';
import { recordedBackend } from '../engines/cluster/cluster-submit';
import { loadNotebookFile, NotebookFileError } from '../notebook-file';
import { isStepName, listRuns, readRun, runDir } from '../runs/run-store';
import { stepInputs, StepInputsError } from '../runs/step-inputs';
import { HttpError } from './http-json';
import { confinedNotebookPath, inside } from './notebook-path';
import { Context, Router } from './router';
import type { RunService, StartRequest } from './run-service';

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export function addRunRoutes(router: Router, root: string, runs: RunService): void {
  const notebookFrom = (value: unknown) => confinedNotebookPath(root, value);
  /** A run's record: the live one when this server runs it, else run.json. */
  const recordOf = async (notebook: string, id: string): Promise<RunRecord | null> => {
    const live = runs.record(id);
    return live && basename(live.notebook) === basename(notebook) ? live : readRun(notebook, id);
  };
  const runOf = async (ctx: Context) => {
    const notebook = notebookFrom(ctx.query.get('notebook'));
    const dir = runDir(notebook, ctx.params.id);
    const record = dir ? await recordOf(notebook, ctx.params.id) : null;
    if (!dir || !record) {
      throw new HttpError(404, 'no-such-run', `There is no run ${ctx.params.id}.`);
    }
    return { notebook, dir, record };
  };
  const stepOf = (record: RunRecord, step: string) => {
    if (!isStepName(step) || !record.steps[step]) {
      throw new HttpError(404, 'no-such-step', `Run ${record.id} has no step ${step}.`);
    }
    return step;
  };
  /** A file of a run folder, refused when it is a link that leads out of the root. */
  const confined = (path: string) => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return path; // not there (yet): reading it finds nothing
    }
    if (!inside(realpathSync(root), real)) {
      throw new HttpError(
        403,
        'outside-root',
        'That file of the run links outside the Jupyter root directory.'
      );
    }
    return real;
  };

  router
    .add('POST', '/api/runs', async ctx => {
      const body = ctx.body;
      const notebookPath = notebookFrom(body.notebook);
      const parameters = body.parameters;
      if (
        parameters !== undefined &&
        (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
      ) {
        throw new HttpError(400, 'invalid-request', '"parameters" must be an object of NAME: VALUE.');
      }
      const request: StartRequest = {
        parameters: Object.fromEntries(Object.entries(parameters ?? {}).map(([k, v]) => [k, String(v)])),
        cache: body.cache === undefined ? undefined : body.cache === true,
        steps: stepSelection(body.steps),
        parallel: parallelism(body.parallel),
        target: oneOf(body.target, 'target', ['local', 'kfp', 'argo'] as const),
        volumes: oneOf(body.volumes, 'volumes', ['snapshot', 'mount'] as const),
        connection: clusterAccess(body.connection)
      };
      const notebook = await requestNotebook(notebookPath, body.content, String(body.notebook));
      return { status: 201, body: await runs.start(notebookPath, notebook, request) };
    })
    .add('POST', '/api/runs/adopt', async ctx => {
      const adopted = await runs.adopt(notebookFrom(ctx.body.notebook));
      return { status: 202, body: { adopted } };
    })
    .add('GET', '/api/runs', async ctx => {
      const notebook = notebookFrom(ctx.query.get('notebook'));
      const onDisk = await listRuns(notebook);
      return { status: 200, body: { runs: onDisk.map(r => runs.record(r.id) ?? r) } };
    })
    .add('GET', '/api/runs/:id', async ctx => ({ status: 200, body: (await runOf(ctx)).record }))
    .add('POST', '/api/runs/:id/cancel', ctx => {
      if (!runs.cancel(ctx.params.id)) {
        throw new HttpError(409, 'not-running', `Run ${ctx.params.id} is not running.`);
      }
      return { status: 202, body: { run: ctx.params.id, status: 'cancelling' } };
    })
    .add('GET', '/api/runs/:id/steps/:step', async ctx => {
      const { dir, record } = await runOf(ctx);
      const name = stepOf(record, ctx.params.step);
      const read = async (file: string) => {
        try {
          return JSON.parse(await readFile(confined(join(dir, 'steps', name, file)), 'utf8')) as unknown;
        } catch (err) {
          if (err instanceof HttpError) {
            throw err;
          }
          return null;
        }
      };
      return {
        status: 200,
        body: {
          ...record.steps[name],
          outputs: await read('outputs.json'),
          metrics: await read('metrics.json')
        }
      };
    })
    // The kernel code that loads what the step received (a POST: for a cluster run it is to fetch them).
    .add('POST', '/api/runs/:id/steps/:step/inputs', async ctx => {
      const { dir, record } = await runOf(ctx);
      const name = stepOf(record, ctx.params.step);
      try {
        const backend = () => recordedBackend(record, runs.clusterConnection(record.access)).backend;
        return { status: 200, body: await stepInputs(record, dir, name, backend) };
      } catch (err) {
        if (err instanceof StepInputsError) {
          const status = { 'inputs-gone': 410, 'inputs-unreachable': 502 }[err.code as string] ?? 409;
          throw new HttpError(status, err.code, err.message);
        }
        throw err;
      }
    })
    .add('GET', '/api/runs/:id/logs/:step', async ctx => {
      const { notebook, dir, record } = await runOf(ctx);
      const name = stepOf(record, ctx.params.step);
      const path = confined(join(dir, 'logs', `${name}.log`));
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      if (ctx.query.get('follow') !== '1') {
        await pipeFrom(path, 0, ctx);
        ctx.res.end();
        return;
      }
      // Follow: send what the log gains until the step has finished.
      let offset = 0;
      for (;;) {
        offset = await pipeFrom(path, offset, ctx);
        const now = await recordOf(notebook, record.id);
        const status = now?.steps[name]?.status;
        const over = !now || (!!status && FINISHED.has(status)) || (now.status !== 'running' && !now.orphan);
        if (ctx.res.destroyed || (over && (await size(path)) === offset)) {
          break;
        }
        await new Promise(resolve => setTimeout(resolve, 200));
      }
      ctx.res.end();
    })
    .add('GET', '/api/events', ctx => {
      ctx.res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive'
      });
      ctx.res.write(': cellpipe events\n\n');
      // The frontend knows notebooks by their path under the root, as it names them in requests.
      const realRoot = realpathSync(root);
      const send = (event: RunEvent) => {
        if (!ctx.res.destroyed) {
          const notebook = relative(realRoot, event.notebook).split(sep).join('/');
          ctx.res.write(`data: ${JSON.stringify({ ...event, notebook })}\n\n`);
        }
      };
      // Proxies close quiet connections; a comment line keeps this one open.
      const heartbeat = setInterval(() => ctx.res.destroyed || ctx.res.write(': heartbeat\n\n'), 15000);
      runs.events.on('event', send);
      const stop = () => {
        clearInterval(heartbeat);
        runs.events.off('event', send);
      };
      ctx.req.on('close', stop);
      ctx.res.on('close', stop);
    });
}

/** The notebook to run: the live content sent with the request, else the file; 400 when it is not one. */
export async function requestNotebook(
  path: string,
  content: unknown,
  requested: string
): Promise<NotebookData> {
  try {
    return content === undefined ? await loadNotebookFile(path) : readNotebook(content, basename(path));
  } catch (err) {
    if (err instanceof NotebookFormatError) {
      throw new HttpError(400, 'not-a-notebook', err.message);
    }
    if (err instanceof NotebookFileError) {
      // Its message names the server path: say it with the path the user gave.
      throw new HttpError(400, 'not-a-notebook', err.message.split(path).join(requested));
    }
    throw err;
  }
}

/** `{context?, tokenFile?}`: the user's cluster connection settings. */
export function clusterAccess(value: unknown): ClusterAccess | undefined {
  if (value === undefined) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    Object.entries(v).every(([k, x]) => (k === 'context' || k === 'tokenFile') && typeof x === 'string');
  if (!ok) {
    throw new HttpError(400, 'invalid-request', '"connection" is {"context": NAME, "tokenFile": PATH}.');
  }
  return {
    ...(v.context ? { context: v.context as string } : {}),
    ...(v.tokenFile ? { tokenFile: v.tokenFile as string } : {})
  };
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!allowed.includes(value as T)) {
    throw new HttpError(
      400,
      'invalid-request',
      `"${field}" is one of ${allowed.map(a => `"${a}"`).join(', ')}.`
    );
  }
  return value as T;
}

function parallelism(value: unknown): number | undefined {
  if (value === undefined || value === 0) {
    return undefined;
  }
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw new HttpError(
      400,
      'invalid-request',
      '"parallel" is a whole number of steps (0: one per CPU core).'
    );
  }
  return value as number;
}

function stepSelection(value: unknown): StartRequest['steps'] {
  if (value === undefined) {
    return undefined;
  }
  const v = value as { mode?: unknown; step?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    !['all', 'one', 'from'].includes(String(v.mode)) ||
    (v.mode !== 'all' && typeof v.step !== 'string')
  ) {
    throw new HttpError(400, 'invalid-request', '"steps" is {"mode": "all" | "one" | "from", "step": NAME}.');
  }
  return { mode: v.mode as 'all' | 'one' | 'from', step: v.step as string | undefined };
}

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Writes the file from `offset` on to the response; returns the new offset. */
async function pipeFrom(path: string, offset: number, ctx: Context): Promise<number> {
  const end = await size(path);
  if (end <= offset) {
    return offset;
  }
  let sent = offset;
  await new Promise<void>(resolve => {
    const stream = createReadStream(path, { start: offset, end: end - 1 });
    stream.on('data', chunk => {
      sent += chunk.length;
      return ctx.res.destroyed || ctx.res.write(chunk);
    });
    stream.on('end', resolve);
    // A log that went away or cannot be read ends this piece; the follow loop tries again.
    stream.on('error', () => resolve());
  });
  return sent;
}
