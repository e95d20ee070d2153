/**
 * The engine's side of a step handing its outputs over (`Handoff` in cellpipe/runtime.py): a step forked
 * from a warm Python connects to this socket once its cells have run, says so (or why a fork of it would
 * not be what loading its outputs gives), and forks the steps the engine answers with, while it writes its
 * files. One socket per run, in a folder only this user can enter.
 *
 * Lines of JSON: the step sends `{event: 'values', step, pid, hazard}`; the engine answers
 * `{forks: [request…]}` (the requests a warm Python reads); the step replies `started`/`failed` per request.
 */
import { mkdtemp, rm } from 'fs/promises';
import { createServer, Server, Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { createInterface } from 'readline';
import type { ForkRequest } from './warm-python';

export interface ValuesOffer {
  step: string;
  pid: number;
  /** Why the steps below must load the files instead (a thread its cells left running…), or null. */
  hazard: string | null;
}

/** One step below the offering step: forked by it (`fork` → its pid), or not after all (`skip`). */
export interface HandoffSlot {
  fork(request: Omit<ForkRequest, 'id'>): Promise<number>;
  skip(): void;
}

type Reply = { event: 'started'; id: number; pid: number } | { event: 'failed'; id: number; message: string };

export class HandoffListener {
  private constructor(
    private readonly server: Server,
    private readonly folder: string,
    readonly address: string
  ) {}

  /**
   * Listens; `onValues` gets each offer and says how many steps it will start from it: each of them then
   * forks through (or skips) its slot, and the offering step is answered once all have.
   */
  static async open(
    onValues: (offer: ValuesOffer, slots: (count: number) => HandoffSlot[]) => Promise<void>
  ) {
    const folder = await mkdtemp(join(tmpdir(), 'cellpipe-'));
    const address = join(folder, 'handoff.sock');
    const server = createServer(socket => serve(socket, onValues));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    server.unref(); // a CLI whose run ended exits
    return new HandoffListener(server, folder, address);
  }

  close(): void {
    this.server.close();
    void rm(this.folder, { recursive: true, force: true });
  }
}

function serve(
  socket: Socket,
  onValues: (offer: ValuesOffer, slots: (count: number) => HandoffSlot[]) => Promise<void>
): void {
  socket.on('error', () => undefined); // the step ended: pending forks are rejected on close
  const pending = new Map<number, { resolve: (pid: number) => void; reject: (e: Error) => void }>();
  socket.once('close', () => {
    for (const [, p] of pending) {
      p.reject(new Error('the step ended before it forked the step below'));
    }
    pending.clear();
  });
  let offered = false;
  const lines = createInterface({ input: socket });
  lines.on('error', () => undefined);
  lines.on('line', line => {
    let message: (ValuesOffer & { event: 'values' }) | Reply;
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.event === 'values' && !offered) {
      offered = true;
      let answered = false;
      const answer = (count: number) => {
        answered = true;
        return slots(socket, pending, count);
      };
      // An offer the engine takes nothing from is answered at once: the step goes on saving.
      const none = () => answered || socket.write('{"forks":[]}\n');
      void onValues(message, answer).then(none, none);
    } else if (message.event === 'started' || message.event === 'failed') {
      const p = pending.get(message.id);
      pending.delete(message.id);
      if (message.event === 'started') {
        p?.resolve(message.pid);
      } else {
        p?.reject(new Error(`the step could not be forked: ${message.message}`));
      }
    }
  });
}

/** `count` slots; once each forked or skipped, the offering step gets the fork requests. */
function slots(
  socket: Socket,
  pending: Map<number, { resolve: (pid: number) => void; reject: (e: Error) => void }>,
  count: number
): HandoffSlot[] {
  const requests: ForkRequest[] = [];
  let open = count;
  const settle = () => {
    if (--open === 0) {
      socket.write(`${JSON.stringify({ forks: requests })}\n`);
    }
  };
  if (count === 0) {
    socket.write('{"forks":[]}\n');
  }
  return Array.from({ length: count }, (_, i) => {
    let used = false;
    return {
      fork: request => {
        if (used) {
          return Promise.reject(new Error('a slot forks once'));
        }
        used = true;
        const id = i + 1;
        const pid = new Promise<number>((resolve, reject) => pending.set(id, { resolve, reject }));
        requests.push({ ...request, id });
        settle();
        return pid;
      },
      skip: () => {
        if (!used) {
          used = true;
          settle();
        }
      }
    };
  });
}
