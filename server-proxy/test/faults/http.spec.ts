/**
 * Fault suite, hostile HTTP: a real server process is sent malformed URLs and bodies, symlinks out of the
 * root, unknown runs and steps. It answers each with the right status and a message without server paths,
 * and stays up throughout.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { connect } from 'net';
import { join } from 'path';
import { until } from '../until';
import { checkPrerequisites, rawExchange, ServerProcess, tempFolder, writeNotebook } from './harness';

jest.setTimeout(120000);

let root: string;
let outside: string;
let server: ServerProcess;

beforeAll(async () => {
  checkPrerequisites();
  root = tempFolder('root');
  outside = tempFolder('outside');
  writeNotebook(join(root, 'simple.ipynb'), [[['step:one'], 'x = 1']]);
  server = await new ServerProcess(root).start();
});

afterAll(() => server.kill('SIGTERM'));

afterEach(async () => {
  expect(server.alive).toBe(true);
  expect((await server.api('GET', '/api/health')).status).toBe(200);
});

describe('malformed URLs (S1)', () => {
  it.each([
    '/api/runs/%E0%A4%A?notebook=simple.ipynb',
    '/api/runs/%?notebook=simple.ipynb',
    '/api/runs/%ZZ/logs/one?notebook=simple.ipynb',
    '/api/%C0%AF',
    '/api/runs/%E0%A4%A/cancel'
  ])('%s: 400, the server stays up', async path => {
    const method = path.endsWith('/cancel') ? 'POST' : 'GET';
    const res = await server.api(method, path, method === 'POST' ? {} : undefined);
    expect([res.status, res.json().error.code]).toEqual([400, 'invalid-url']);
  });

  it('a run in flight goes on while malformed URLs arrive', async () => {
    writeNotebook(join(root, 'slowish.ipynb'), [[['step:one'], 'import time\ntime.sleep(1)\nx = 1']]);
    const { run } = (await server.api('POST', '/api/runs', { notebook: 'slowish.ipynb' })).json();
    for (let i = 0; i < 10; i++) {
      expect((await server.api('GET', `/api/runs/x%E0%A4%A?try=${i}&notebook=slowish.ipynb`)).status).toBe(
        400
      );
    }
    const end = await until('the run to end', async () => {
      const r = (await server.api('GET', `/api/runs/${run}?notebook=slowish.ipynb`)).json();
      return r.status !== 'running' && r;
    });
    expect(end.status).toBe('succeeded');
  });
});

describe('kept-alive connections', () => {
  it('a connection idle for longer than a client waits (6 s) still answers its next request', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', chunk => (text += chunk));
    const answers = () => text.split('HTTP/1.1 200').length - 1;
    const ask = () => socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const closed = new Promise<void>(resolve => socket.on('close', () => resolve()));
    ask();
    await until('the first answer', async () => answers() === 1);
    await new Promise(resolve => setTimeout(resolve, 6000));
    ask();
    await until('the second answer on the same connection', async () => answers() === 2 || socket.destroyed);
    expect(answers()).toBe(2);
    socket.end();
    await closed;
  });
});

describe('bodies (S5): read whole before the answer, bounded, JSON only', () => {
  const head = (method: string, path: string, type: string, length: number) =>
    `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
  const pieces = (total: number, count: number) =>
    Array.from({ length: count }, (_, i) =>
      Buffer.alloc(Math.floor(total / count) + (i === 0 ? total % count : 0), 'a')
    );

  it('cancel of an unknown run with {} sent slowly: 409 every time, never before the body is read', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await rawExchange(
        server.port,
        head('POST', '/api/runs/nope/cancel', 'application/json', 2),
        [Buffer.from('{'), Buffer.from('}')]
      );
      expect([res.status, res.answeredEarly, res.brokenPipe]).toEqual([409, false, false]);
    }
  });

  it('a form post: 415 once the body is read', async () => {
    const body = Buffer.from('notebook=simple.ipynb');
    const res = await rawExchange(
      server.port,
      head('POST', '/api/runs', 'application/x-www-form-urlencoded', body.length),
      [body.subarray(0, 5), body.subarray(5)]
    );
    expect([res.status, res.answeredEarly, res.brokenPipe]).toEqual([415, false, false]);
  });

  it('1 MB of text/plain in pieces: 415 after the last piece', async () => {
    const res = await rawExchange(
      server.port,
      head('POST', '/api/runs', 'text/plain', 1024 * 1024),
      pieces(1024 * 1024, 8)
    );
    expect([res.status, res.answeredEarly, res.brokenPipe]).toEqual([415, false, false]);
  });

  it('a body over 64 MiB: 413 (read and dropped, not buffered)', async () => {
    const size = 64 * 1024 * 1024 + 1024;
    const res = await rawExchange(
      server.port,
      head('POST', '/api/runs', 'application/json', size),
      pieces(size, 16),
      5
    );
    expect([res.status, res.brokenPipe]).toEqual([413, false]);
  });

  it.each([
    ['not JSON', '{"notebook": ', 400, 'invalid-json'],
    ['an array', '[1, 2]', 400, 'invalid-request'],
    ['a string', '"simple.ipynb"', 400, 'invalid-request'],
    ['a NUL in the path', '{"notebook": "simple\\u0000.ipynb"}', 400, 'invalid-request'],
    ['parameters as a list', '{"notebook": "simple.ipynb", "parameters": [1]}', 400, 'invalid-request'],
    [
      'content that is no notebook',
      '{"notebook": "simple.ipynb", "content": {"cells": 3}}',
      400,
      'not-a-notebook'
    ]
  ])('%s', async (_what, body, status, code) => {
    const res = await server.api('POST', '/api/runs', body);
    expect([res.status, res.json().error.code]).toEqual([status, code]);
  });
});

describe('symlinks out of the root (S2)', () => {
  beforeAll(() => {
    writeNotebook(join(outside, 'secret.ipynb'), [[['step:one'], 'x = 1']]);
    mkdirSync(join(outside, 'folder'));
    writeNotebook(join(outside, 'folder', 'x.ipynb'), [[['step:one'], 'x = 1']]);
    symlinkSync(join(outside, 'secret.ipynb'), join(root, 'link.ipynb'));
    symlinkSync(join(outside, 'folder'), join(root, 'linkdir'));
    mkdirSync(join(root, 'sneaky'));
    writeNotebook(join(root, 'sneaky', 'nb.ipynb'), [[['step:one'], 'x = 1']]);
    symlinkSync(outside, join(root, 'sneaky', '.cellpipe'));
  });

  it.each([
    ['GET', '/api/runs?notebook=link.ipynb'],
    ['GET', '/api/runs?notebook=linkdir/x.ipynb'],
    ['GET', '/api/runs?notebook=sneaky/nb.ipynb'],
    ['POST', '/api/runs'],
    ['POST', '/api/runs#linkdir'],
    ['POST', '/api/runs#sneaky']
  ])('%s %s: 403 outside-root, nothing written outside', async (method, path) => {
    const notebook = path.endsWith('#linkdir')
      ? 'linkdir/x.ipynb'
      : path.endsWith('#sneaky')
        ? 'sneaky/nb.ipynb'
        : 'link.ipynb';
    const res = await server.api(
      method,
      path.replace(/#.*/, ''),
      method === 'POST' ? { notebook } : undefined
    );
    expect([res.status, res.json().error.code]).toEqual([403, 'outside-root']);
    expect(existsSync(join(outside, 'folder', '.cellpipe'))).toBe(false);
    expect(existsSync(join(outside, 'runs'))).toBe(false);
  });

  it('a notebook: step whose notebook links out of the root is refused, at its cell', async () => {
    writeNotebook(join(outside, 'child.ipynb'), [[['step:inner'], 'y = 2']]);
    symlinkSync(join(outside, 'child.ipynb'), join(root, 'child-link.ipynb'));
    const parent = JSON.parse(
      readFileSync(writeNotebook(join(root, 'parent.ipynb'), [[['notebook:child'], '']]), 'utf8')
    );
    parent.cells[0].metadata.notebook_path = 'child-link.ipynb';
    writeFileSync(join(root, 'parent.ipynb'), JSON.stringify(parent));
    const res = await server.api('POST', '/api/runs', { notebook: 'parent.ipynb' });
    expect([res.status, res.json().error.code]).toEqual([422, 'pipeline-has-errors']);
    expect(res.json().error.message).toMatch(/parent\.ipynb, cell 1.*outside the Jupyter root/);
    expect(res.text).not.toContain(outside);
  });

  it('a run file that links out of the root is not served', async () => {
    const { run } = (await server.api('POST', '/api/runs', { notebook: 'simple.ipynb' })).json();
    await until(
      'the run to end',
      async () =>
        (await server.api('GET', `/api/runs/${run}?notebook=simple.ipynb`)).json().status === 'succeeded'
    );
    const log = join(root, '.cellpipe', 'runs', run, 'logs', 'one.log');
    rmSync(log);
    writeFileSync(join(outside, 'passwords'), 'secret\n');
    symlinkSync(join(outside, 'passwords'), log);
    const res = await server.api('GET', `/api/runs/${run}/logs/one?notebook=simple.ipynb`);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('secret');
  });
});

describe('unknown runs and steps (U3)', () => {
  it.each([
    ['/api/runs/20990101-000000-dead/logs/one?notebook=simple.ipynb', 'no-such-run'],
    ['/api/runs/20990101-000000-dead/steps/one?notebook=simple.ipynb', 'no-such-run'],
    ['/api/runs/..%2F..%2Fetc/logs/one?notebook=simple.ipynb', 'no-such-run']
  ])('%s: 404 %s', async (path, code) => {
    const res = await server.api('GET', path);
    expect([res.status, res.json().error.code]).toEqual([404, code]);
  });

  it('a known run without that step: 404 no-such-step, for logs and for the step', async () => {
    const { run } = (await server.api('POST', '/api/runs', { notebook: 'simple.ipynb' })).json();
    for (const what of ['logs', 'steps']) {
      const res = await server.api('GET', `/api/runs/${run}/${what}/nope?notebook=simple.ipynb`);
      expect([res.status, res.json().error.code]).toEqual([404, 'no-such-step']);
    }
  });
});

describe('error bodies (S3): no server paths, a message to act on', () => {
  it('a run that cannot be prepared (its runs folder is not writable) answers without the server path', async () => {
    const folder = join(root, 'locked');
    mkdirSync(join(folder, '.cellpipe', 'runs'), { recursive: true });
    writeNotebook(join(folder, 'nb.ipynb'), [[['step:one'], 'x = 1']]);
    execFileSync('chattr', ['+i', join(folder, '.cellpipe', 'runs')]);
    try {
      const res = await server.api('POST', '/api/runs', { notebook: 'locked/nb.ipynb' });
      expect([res.status, res.json().error.code]).toEqual([500, 'run-not-prepared']);
      expect(res.text).not.toContain(root);
      expect(res.json().error.message).toMatch(
        /^Could not prepare the run in .*: the folder or file may not be changed/
      );
    } finally {
      execFileSync('chattr', ['-i', join(folder, '.cellpipe', 'runs')]);
    }
  });

  it('a step named with 250 letters: 422 naming cell and length, no run folder, no path', async () => {
    writeNotebook(join(root, 'long.ipynb'), [[[`step:${'a'.repeat(250)}`], 'x = 1']]);
    const res = await server.api('POST', '/api/runs', { notebook: 'long.ipynb' });
    expect([res.status, res.json().error.code]).toEqual([422, 'pipeline-has-errors']);
    expect(res.json().error.message).toContain('long.ipynb, cell 1: error [invalid-step-name]');
    expect(res.json().error.message).toContain('at most 63 characters (this one has 250)');
    expect(res.text).not.toContain(root);
  });
});
