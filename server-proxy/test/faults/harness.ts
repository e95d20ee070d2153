/**
 * What the fault suite shares: real processes (the built server and CLI bundles, the project's Python),
 * notebooks written to temporary folders, HTTP calls and raw sockets, and the cleanup of what a fault left
 * (immutable folders, mounted file systems), which runs even when a test fails.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { request } from 'http';
import { connect } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { until } from '../until';

export const REPO = join(__dirname, '..', '..', '..');
export const PYTHON = join(REPO, '.venv', 'bin', 'python');
// CELLPIPE_FAULT_BUNDLES points the suite at another build (say main's, before a fix) to see that it
// reproduces the faults there.
const BUNDLES = process.env.CELLPIPE_FAULT_BUNDLES ?? join(REPO, 'cellpipe', 'js');

/** The prerequisites: the bundles (npm run build) and the venv (make develop); a missing one fails. */
export function checkPrerequisites(): void {
  expect(existsSync(join(BUNDLES, 'server.js'))).toBe(true);
  expect(existsSync(join(BUNDLES, 'cli.js'))).toBe(true);
  expect(existsSync(PYTHON)).toBe(true);
  expect(process.getuid?.()).toBe(0); // chattr and mount: the tests run as root
}

export function tempFolder(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cellpipe-fault-${prefix}-`));
}

export type Cell = [tags: string[] | string, source: string];

export function writeNotebook(path: string, cells: Cell[], metadata: Record<string, unknown> = {}): string {
  writeFileSync(
    path,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata,
      cells: cells.map(([tags, source]) => ({
        cell_type: 'code',
        metadata: { tags },
        source,
        outputs: [],
        execution_count: null
      }))
    })
  );
  return path;
}

/** A step that appends its pid to `counter` (outside the run), so a test can count how often it ran. */
export function counted(counter: string, body: string): string {
  return `import os\nwith open(${JSON.stringify(counter)}, 'a') as _f:\n    _f.write(str(os.getpid()) + '\\n')\n${body}`;
}

export function timesRun(counter: string): number {
  return existsSync(counter) ? readFileSync(counter, 'utf8').trim().split('\n').filter(Boolean).length : 0;
}

export interface Reply {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-side JSON of any shape
  json: () => any;
}

export function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/json' }
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, res => {
      let text = '';
      res.on('data', chunk => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/**
 * A raw HTTP exchange: the head, then the body in pieces with a pause between them. Returns the response
 * and whether it began before the last piece was sent (a server must read the whole request first).
 */
export function rawExchange(
  port: number,
  head: string,
  pieces: Buffer[],
  pauseMs = 20
): Promise<{ status: number; text: string; answeredEarly: boolean; brokenPipe: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let sentAll = false;
    let answeredEarly = false;
    let brokenPipe = false;
    socket.on('data', chunk => {
      if (!sentAll) {
        answeredEarly = true;
      }
      text += chunk;
    });
    socket.on('error', err => {
      if (
        (err as NodeJS.ErrnoException).code === 'EPIPE' ||
        (err as NodeJS.ErrnoException).code === 'ECONNRESET'
      ) {
        brokenPipe = true;
      } else {
        reject(err);
      }
    });
    socket.on('close', () =>
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text, answeredEarly, brokenPipe })
    );
    socket.on('connect', async () => {
      socket.write(head);
      for (const piece of pieces) {
        await new Promise(r => setTimeout(r, pauseMs));
        if (socket.destroyed) {
          break;
        }
        socket.write(piece);
      }
      sentAll = true;
      socket.end();
    });
  });
}

/** A real cellpipe server process (the bundle), on a loopback port. */
export class ServerProcess {
  private child: ChildProcess | null = null;
  port = 0;
  log = '';

  constructor(
    readonly root: string,
    private readonly env: NodeJS.ProcessEnv = {}
  ) {}

  async start(): Promise<this> {
    this.log = '';
    const child = spawn(
      process.execPath,
      [join(BUNDLES, 'server.js'), '--port', '0', '--root', this.root, '--python', PYTHON],
      {
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'ignore', 'pipe']
      }
    );
    this.child = child;
    child.stderr!.on('data', chunk => (this.log += chunk));
    this.port = Number(
      (await until('the server to listen', () => /listening on 127\.0\.0\.1:(\d+)/.exec(this.log)?.[1])) ?? 0
    );
    return this;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** Whether the process still runs (a server that crashed has exited). */
  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return call(this.port, method, path, body, headers);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child && this.alive) {
      const gone = new Promise(resolve => child.once('exit', resolve));
      child.kill(signal);
      await gone;
    }
    this.child = null;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI as a process; `started` is called with it (to kill it mid-run). */
export function cli(
  args: string[],
  cwd?: string,
  started?: (child: ChildProcess) => void,
  env: NodeJS.ProcessEnv = {}
): Promise<CliResult> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [join(BUNDLES, 'cli.js'), ...args], {
      cwd,
      env: { ...process.env, CELLPIPE_PYTHON: PYTHON, ...env }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', c => (stdout += c));
    child.stderr.on('data', c => (stderr += c));
    child.on('close', code => resolve({ code, stdout, stderr }));
    started?.(child);
  });
}

/** run.json of the notebook's only run, or of run `id`; null when there is none yet. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run.json as written
export function runRecord(folder: string, id?: string): any {
  const runs = join(folder, '.cellpipe', 'runs');
  const ids = id ? [id] : existsSync(runs) ? readdirSync(runs).filter(n => !n.endsWith('.json')) : [];
  if (ids.length === 0) {
    return null;
  }
  const path = join(runs, ids[0], 'run.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** No stack trace in what a user reads: no "    at f (file:line)" frames, no internal error. */
export function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(text).not.toMatch(/internal error|Traceback \(most recent call last\)|RangeError|ENAMETOOLONG/);
}

/** Things to undo after each test, in reverse order, even when it failed. */
export class Cleanup {
  private readonly steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Makes a folder immutable; returns what makes it writable again (also done at the end). */
  immutable(path: string): () => void {
    execFileSync('chattr', ['-R', '+i', path]);
    const undo = () => execFileSync('chattr', ['-R', '-i', path]);
    this.add(undo);
    return undo;
  }

  /** A small tmpfs at a new folder: a disk that fills up. */
  tmpfs(sizeKiB: number): string {
    const at = tempFolder('disk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', at]);
    this.add(() => execFileSync('umount', ['-l', at]));
    return at;
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // keep undoing the rest
      }
    }
  }
}
