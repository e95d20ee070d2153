/** The run routes: start, list, get, cancel, step logs (optionally followed), step outputs, live events. */
import { createReadStream } from 'fs';
import { readFile, stat } from 'fs/promises';
import { join } from 'path';
import { isStepName, listRuns, readRun, runDir } from '../engines/local/run-store';
import { HttpError } from './http-json';
import { confinedNotebookPath } from './notebook-path';
import { Context, readJsonBody, Router } from './router';
import type { ClusterAccess, RunEvent } from '../../../src/core/runs/run-record';
import type { RunService, StartRequest } from './run-service';

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export function addRunRoutes(router: Router, root: string, runs: RunService): void {
  const notebookFrom = (ctx: Context) => confinedNotebookPath(root, ctx.query.get('notebook'));
  const runFolder = (ctx: Context) => {
    const notebook = notebookFrom(ctx);
    const dir = runDir(notebook, ctx.params.id);
    if (!dir) {
      throw new HttpError(404, 'no-such-run', `There is no run ${ctx.params.id}.`);
    }
    return { notebook, dir };
  };
  const step = (ctx: Context) => {
    if (!isStepName(ctx.params.step)) {
      throw new HttpError(404, 'no-such-step', `There is no step ${ctx.params.step}.`);
    }
    return ctx.params.step;
  };

  router
    .add('POST', '/api/runs', async ctx => {
      const body = await readJsonBody(ctx.req);
      const notebook = confinedNotebookPath(root, body.notebook);
      const parameters = body.parameters;
      if (
        parameters !== undefined &&
        (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
      ) {
        throw new HttpError(400, 'invalid-request', '"parameters" must be an object of NAME: VALUE.');
      }
      const started = await runs.start(notebook, {
        content: body.content,
        parameters: Object.fromEntries(Object.entries(parameters ?? {}).map(([k, v]) => [k, String(v)])),
        cache: body.cache === undefined ? undefined : body.cache === true,
        steps: stepSelection(body.steps),
        parallel: parallelism(body.parallel),
        target: oneOf(body.target, 'target', ['local', 'kfp', 'argo'] as const),
        volumes: oneOf(body.volumes, 'volumes', ['snapshot', 'mount'] as const),
        connection: clusterAccess(body.connection)
      });
      return { status: 201, body: started };
    })
    .add('GET', '/api/runs', async ctx => {
      const notebook = notebookFrom(ctx);
      runs.resumeOrphans(notebook);
      return { status: 200, body: { runs: await listRuns(notebook) } };
    })
    .add('GET', '/api/runs/:id', async ctx => {
      const { notebook } = runFolder(ctx);
      const record = await readRun(notebook, ctx.params.id);
      if (!record) {
        throw new HttpError(404, 'no-such-run', `There is no run ${ctx.params.id}.`);
      }
      return { status: 200, body: record };
    })
    .add('POST', '/api/runs/:id/cancel', ctx => {
      if (!runs.cancel(ctx.params.id)) {
        throw new HttpError(409, 'not-running', `Run ${ctx.params.id} is not running.`);
      }
      return { status: 202, body: { run: ctx.params.id, status: 'cancelling' } };
    })
    .add('GET', '/api/runs/:id/steps/:step', async ctx => {
      const { notebook, dir } = runFolder(ctx);
      const name = step(ctx);
      const record = await readRun(notebook, ctx.params.id);
      if (!record?.steps[name]) {
        throw new HttpError(404, 'no-such-step', `Run ${ctx.params.id} has no step ${name}.`);
      }
      const read = async (file: string) => {
        try {
          return JSON.parse(await readFile(join(dir, 'steps', name, file), 'utf8')) as unknown;
        } catch {
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
    .add('GET', '/api/runs/:id/logs/:step', async ctx => {
      const { notebook, dir } = runFolder(ctx);
      const name = step(ctx);
      const path = join(dir, 'logs', `${name}.log`);
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
        const record = await readRun(notebook, ctx.params.id);
        const status = record?.steps[name]?.status;
        // Before run.json exists the run may still be starting.
        const over = record ? !!status && FINISHED.has(status) : !runs.isActive(ctx.params.id);
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
      const send = (event: RunEvent) => ctx.res.write(`data: ${JSON.stringify(event)}\n\n`);
      // Proxies close quiet connections; a comment line keeps this one open.
      const heartbeat = setInterval(() => ctx.res.write(': heartbeat\n\n'), 15000);
      runs.events.on('event', send);
      ctx.req.on('close', () => {
        clearInterval(heartbeat);
        runs.events.off('event', send);
      });
    });
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
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path, { start: offset, end: end - 1 });
    stream.on('data', chunk => ctx.res.write(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return end;
}
