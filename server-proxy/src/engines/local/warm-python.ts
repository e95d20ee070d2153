/**
 * A warm Python: one process that started the cell runner (ipykernel's kernel object) and ran the
 * notebook's imports and functions cells once (`python STEP.py --warm LOG`, `WarmPython` in
 * cellpipe/runtime.py), from which each step is forked (copy-on-write) instead of starting an interpreter,
 * a kernel and the prelude again. The forked child runs the step's own program file, as a fresh process
 * would, with its own log, session and files; only how it started differs.
 *
 * Requests and replies are JSON lines on the Python's fds 3 and 4. A forked step reports on fd 4 itself
 * that it is done, once its completion record is written and before its process ends (freeing a fork's
 * memory took 6-31 ms per step here, more under load): the step is finished then, and the steps below start. Its exit
 * status comes later from the warm Python (its parent) and changes nothing; a step that ends without
 * reporting is judged by its exit and files as before. When the warm Python ends first, its children go on
 * by themselves and are judged by their files, as an adopted step is.
 */
import { spawn, ChildProcess } from 'child_process';
import { closeSync, openSync } from 'fs';
import type { Socket } from 'net';
import { createInterface } from 'readline';
import { isRunning, processRef } from '../../process-identity';
import { FollowedStep, followStep, StepExit, StepProcess } from './step-process';

export type WarmReady =
  | {
      ok: true;
      imported: string[];
      left: Record<string, string>;
      /** Its steps can hand their outputs to forks of themselves (it waits for its orphaned descendants). */
      handoff: boolean;
    }
  | { ok: false; reason: string };

export interface WarmStart {
  python: string;
  /** A step program whose prelude the warm Python runs (any step of the run: they share it). */
  program: string;
  cwd: string;
  env: Record<string, string>;
  /**
   * The modules the steps import, imported once after the prelude (those a fork or the notebook's order
   * would not allow are left to the steps: `preimport` in cellpipe/runtime.py).
   */
  imports: readonly string[];
  /** Where the warm Python's own output goes (the prelude's output is copied into every step's log). */
  log: string;
}

export interface WarmFork {
  program: string;
  args: string[];
  cwd: string;
  /** The step's log (truncated here, so that an unwritable log fails the step as a fresh start does). */
  log: string;
  /**
   * Where the forked step writes its pid and start first thing (`forkedIdentity`): its command line is the
   * warm Python's, so this is how a new owner finds it when the owner died before recording its pid.
   */
  identity: string;
  /** The engine's socket the step offers its outputs on when its cells have run (`handoff.ts`). */
  handoff?: string;
}

/** A fork request as the runtime reads it (from the engine, or relayed by a step's process). */
export type ForkRequest = WarmFork & { id: number };

type Reply =
  | { event: 'ready'; pid: number; imported?: string[]; left?: Record<string, string>; handoff?: boolean }
  | { event: 'refused'; reason: string }
  | { event: 'started'; id: number; pid: number }
  | { event: 'failed'; id: number; message: string }
  | { event: 'exit'; pid: number; code: number | null; signal: NodeJS.Signals | null }
  | { event: 'done'; pid: number; record: { step: string; finished: number } };

export class WarmPython {
  /** Resolves once the prelude ran: ready to fork, or refused (the prelude failed, or a fork would break it). */
  readonly ready: Promise<WarmReady>;
  /** The prelude (until ready), steps forked from it that are still running, and requests not answered yet. */
  private busy = 1;
  private readonly child: ChildProcess;
  private readonly requests: Socket;
  private readonly replies: Socket;
  private nextId = 1;
  private readonly starting = new Map<
    number,
    { resolve: (p: StepProcess) => void; reject: (e: Error) => void }
  >();
  private readonly running = new Map<number, FollowedStep>();
  /** Reports and exits of processes not tracked yet (a step forked by a step's process, before `track`). */
  private readonly untracked = new Map<number, { done: boolean; exit?: StepExit }>();
  private ended: string | null = null;
  /** Why it refused to fork (its prelude failed, or a fork would break what it set up), once it did. */
  refusal: string | null = null;

  constructor(start: WarmStart) {
    const fd = openSync(start.log, 'w');
    try {
      this.child = spawn(start.python, [start.program, '--warm', start.log, JSON.stringify(start.imports)], {
        cwd: start.cwd,
        env: start.env,
        stdio: ['ignore', fd, fd, 'pipe', 'pipe'],
        // Its own session: a Ctrl-C of the CLI cancels the run through the engine, not by a signal to it.
        detached: true
      });
    } finally {
      closeSync(fd);
    }
    this.requests = this.child.stdio[3] as Socket;
    this.replies = this.child.stdio[4] as Socket;
    this.requests.on('error', () => undefined); // a write after it ended: seen as its exit
    let settle: (ready: WarmReady) => void = () => undefined;
    this.ready = new Promise(resolve => (settle = resolve));
    createInterface({ input: this.replies }).on('line', line => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      this.handle(reply, settle);
    });
    this.child.once('error', err => this.gone(`the warm Python could not start: ${err.message}`, settle));
    this.child.once('exit', (code, signal) =>
      this.gone(`the warm Python ended (${signal ?? `status ${code}`})`, settle)
    );
    this.refresh();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it can still fork steps. */
  get alive(): boolean {
    return this.ended === null;
  }

  get idle(): boolean {
    return this.busy === 0;
  }

  /** Forks a step; rejects when the warm Python cannot (it ended, or fork failed): start it fresh then. */
  fork(launch: WarmFork): Promise<StepProcess> {
    closeSync(openSync(launch.log, 'w'));
    if (this.ended !== null) {
      return Promise.reject(new Error(this.ended));
    }
    const id = this.nextId++;
    this.busy++;
    this.refresh();
    return new Promise<StepProcess>((resolve, reject) => {
      this.starting.set(id, { resolve, reject });
      this.requests.write(`${JSON.stringify(forkRequest(id, launch))}\n`);
    });
  }

  /**
   * A step forked by the process of a step forked from this warm Python: its exit comes from this warm
   * Python, which waits for the orphaned descendants of its steps.
   */
  track(pid: number): StepProcess {
    const step = followStep(processRef(pid) ?? { pid });
    const early = this.untracked.get(pid);
    this.untracked.delete(pid);
    if (early?.done) {
      step.report();
    }
    if (early?.exit) {
      step.end(early.exit);
    } else if (this.ended !== null) {
      this.poll(step);
    } else {
      this.busy++;
      this.refresh();
      this.running.set(pid, step);
    }
    return step.process;
  }

  /** Ends it (steps forked from it go on: each is in a session of its own). */
  close(): void {
    this.requests.end();
    if (this.ended === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
  }

  private handle(reply: Reply, settle: (ready: WarmReady) => void): void {
    if (reply.event === 'ready') {
      this.done();
      settle({
        ok: true,
        imported: reply.imported ?? [],
        left: reply.left ?? {},
        handoff: reply.handoff === true
      });
    } else if (reply.event === 'refused') {
      this.refusal = reply.reason;
      this.done();
      settle({ ok: false, reason: reply.reason });
    } else if (reply.event === 'started') {
      const pending = this.starting.get(reply.id);
      this.starting.delete(reply.id);
      // Registered before the exit can be read (it may follow in the same chunk of replies).
      const step = followStep(processRef(reply.pid) ?? { pid: reply.pid });
      this.running.set(reply.pid, step);
      pending?.resolve(step.process);
    } else if (reply.event === 'failed') {
      const pending = this.starting.get(reply.id);
      this.starting.delete(reply.id);
      this.done();
      pending?.reject(new Error(`the warm Python could not fork the step: ${reply.message}`));
    } else if (reply.event === 'done') {
      // Finished now; its entry stays until its exit, which counts it out of the running ones.
      const step = this.running.get(reply.pid);
      if (step) {
        step.report();
      } else {
        this.early(reply.pid).done = true;
      }
    } else if (reply.event === 'exit') {
      const step = this.running.get(reply.pid);
      this.running.delete(reply.pid);
      if (step) {
        this.done();
        step.end({ code: reply.code, signal: reply.signal });
      } else {
        this.early(reply.pid).exit = { code: reply.code, signal: reply.signal };
      }
    }
  }

  /** What is known of a process not tracked yet. */
  private early(pid: number): { done: boolean; exit?: StepExit } {
    let known = this.untracked.get(pid);
    if (!known) {
      if (this.untracked.size > 1000) {
        this.untracked.clear(); // descendants nobody tracks (a step's own daemons)
      }
      known = { done: false };
      this.untracked.set(pid, known);
    }
    return known;
  }

  private gone(reason: string, settle: (ready: WarmReady) => void): void {
    if (this.ended !== null) {
      return;
    }
    this.ended = reason;
    settle({ ok: false, reason });
    for (const [, pending] of this.starting) {
      pending.reject(new Error(reason));
    }
    this.starting.clear();
    // Its children go on without it: their ends are seen by polling, and their files say how they ended.
    for (const [, step] of this.running) {
      this.poll(step);
    }
    this.running.clear();
    this.busy = 0;
    this.refresh();
  }

  private poll(step: FollowedStep): void {
    const check = () =>
      isRunning(step.process.ref)
        ? setTimeout(check, 200)
        : step.end({ code: null, signal: null, lost: true });
    check();
  }

  private done(): void {
    this.busy = Math.max(0, this.busy - 1);
    this.refresh();
  }

  /** An idle warm Python does not keep this process alive (a CLI whose run ended exits). */
  private refresh(): void {
    const keep = this.busy > 0 && this.ended === null;
    for (const handle of [this.child, this.requests, this.replies]) {
      if (keep) {
        handle.ref();
      } else {
        handle.unref();
      }
    }
  }
}

/** The request line for a fork (its fields as the runtime's `fork_step` reads them). */
export function forkRequest(id: number, launch: WarmFork): ForkRequest {
  const { program, args, cwd, log, identity, handoff } = launch;
  return { id, program, args, cwd, log, identity, ...(handoff ? { handoff } : {}) };
}
