/**
 * Kubernetes watch streams of one named custom object (an Argo Workflow, a VolumeSnapshot), so a run is
 * followed as its events arrive instead of at a fixed interval.
 *
 * `watchObject` opens `GET /apis/GROUP/VERSION/namespaces/NS/PLURAL?watch=true&fieldSelector=metadata.name=NAME`
 * (client-node's `Watch`) and hands every ADDED/MODIFIED/DELETED object over in order. Watches end
 * routinely (the API server's timeout, a proxy): it reconnects from the last `resourceVersion` it saw;
 * when that version is too old (`ERROR` event with a 410 `Status`, or a 410 answer) it lists the object
 * again and watches from the list's version. It gives up, and the caller polls instead, when the watch is
 * refused (401/403/404/405: no permission to watch, no watch endpoint) or keeps failing.
 *
 * `WatchQueue` is what the waiting loops use: the objects in arrival order, whether the stream is open
 * now (while it is not, they poll), and a wait that ends at the next object, when the watch gives up, on
 * abort, or after the poll interval.
 */
import { Watch } from '@kubernetes/client-node';
import type { KubeClients } from './kube-client';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export interface ObjectWatchHandlers<T> {
  /** Each event of the object, in order; after a re-list, the listed object comes as ADDED. */
  onEvent(type: WatchEventType, object: T): void;
  /** The watch stopped for good: the caller polls from now on. */
  onGiveUp(reason: string): void;
}

export interface ObjectWatch {
  /** Whether a stream is open now (events arrive as they happen). */
  readonly live: boolean;
  stop(): void;
}

export interface WatchOptions {
  /** Failed connections in a row before giving up (default 5). */
  retries?: number;
  /** The wait before reconnecting after a failure, times the failures in a row (default 500 ms). */
  retryMs?: number;
  /**
   * Asks the server to end each stream after this long (`timeoutSeconds`, default 300), and ends it here
   * 30 s later if it did not (a connection dead without a word): either way a routine reconnect.
   */
  timeoutSeconds?: number;
}

/** Status codes that mean this watch will never work: poll instead. */
const REFUSED = new Set([401, 403, 404, 405]);

interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

interface Versioned {
  metadata?: { resourceVersion?: string };
}

export function watchObject<T extends Versioned>(
  kube: KubeClients,
  ref: ObjectRef,
  handlers: ObjectWatchHandlers<T>,
  options: WatchOptions = {}
): ObjectWatch {
  const retries = options.retries ?? 5;
  const retryMs = options.retryMs ?? 500;
  const timeoutSeconds = options.timeoutSeconds ?? 300;
  const path = `/apis/${ref.group}/${ref.version}/namespaces/${ref.namespace}/${ref.plural}`;
  const fieldSelector = `metadata.name=${ref.name}`;
  const watcher = new Watch(kube.config);
  let resourceVersion: string | undefined;
  let relist = false;
  let stopped = false;
  let live = false;
  let failures = 0;
  let controller: AbortController | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const reconnect = () => void connect().catch(err => giveUp((err as Error).message));

  const giveUp = (reason: string) => {
    if (!stopped) {
      stopped = true;
      live = false;
      handlers.onGiveUp(reason);
    }
  };
  const retry = (reason: string) => {
    if (++failures > retries) {
      return giveUp(`the watch failed ${failures} times in a row (${reason})`);
    }
    retryTimer = setTimeout(reconnect, retryMs * failures);
  };

  /** After a 410: the object as it is now, and the version to watch from. */
  async function list(): Promise<void> {
    const listed = (await kube.custom.listNamespacedCustomObject({
      group: ref.group,
      version: ref.version,
      namespace: ref.namespace,
      plural: ref.plural,
      fieldSelector
    })) as { metadata?: { resourceVersion?: string }; items?: T[] };
    resourceVersion = listed.metadata?.resourceVersion;
    relist = false;
    for (const item of listed.items ?? []) {
      if (!stopped) {
        handlers.onEvent('ADDED', item);
      }
    }
  }

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (stopped) {
      return;
    }
    if (relist) {
      try {
        await list();
      } catch (err) {
        const code = (err as { code?: number }).code;
        return code !== undefined && REFUSED.has(code)
          ? giveUp(`listing ${ref.plural} was refused (${code})`)
          : retry(`the re-list failed: ${(err as Error).message}`);
      }
      if (stopped) {
        return;
      }
    }
    let ended = false;
    let events = 0;
    let error: KubeStatus | undefined;
    let overdue = false;
    const opened = Date.now();
    const deadline = setTimeout(
      () => {
        overdue = true;
        controller?.abort();
      },
      (timeoutSeconds + 30) * 1000
    );
    const done = (err: unknown) => {
      if (ended) {
        return;
      }
      ended = true;
      live = false;
      controller = undefined;
      clearTimeout(deadline);
      if (stopped) {
        return;
      }
      if (overdue && !error) {
        // Nothing came for longer than the server should have kept the stream: carry on from the last version.
        failures = 0;
        return reconnect();
      }
      const code = error?.code ?? (err as { statusCode?: number } | null)?.statusCode;
      if (code === 410) {
        // The version we watched from is gone (etcd compaction): list again, then watch from there.
        resourceVersion = undefined;
        relist = true;
        failures = 0;
        return reconnect();
      }
      if (code !== undefined && REFUSED.has(code)) {
        return giveUp(`the watch was refused (${code}${error?.message ? `: ${error.message}` : ''})`);
      }
      if (error || err) {
        return retry(error?.message ?? (err as Error).message ?? String(err));
      }
      // A routine end (the server's timeout): carry on from the last version seen. A stream that ends at
      // once, again and again, is a failure.
      if (events > 0 || Date.now() - opened >= 1000) {
        failures = 0;
        return reconnect();
      }
      retry('the stream ended without an event');
    };
    const query: Record<string, string | number | boolean> = {
      fieldSelector,
      allowWatchBookmarks: true,
      timeoutSeconds
    };
    if (resourceVersion) {
      query.resourceVersion = resourceVersion;
    }
    const started = await watcher
      .watch(
        path,
        query,
        (type: string, object: unknown) => {
          if (ended || stopped) {
            return;
          }
          const version = (object as Versioned | undefined)?.metadata?.resourceVersion;
          if (type === 'ERROR') {
            error = (object as KubeStatus) ?? { message: 'an ERROR event' };
            return controller?.abort();
          }
          events++;
          if (version) {
            resourceVersion = version;
          }
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
            handlers.onEvent(type, object as T);
          }
        },
        done
      )
      .catch(err => {
        clearTimeout(deadline);
        throw err;
      });
    if (ended) {
      return;
    }
    controller = started;
    if (stopped) {
      started.abort();
      return;
    }
    live = true;
    // A watch error reported as an event closes the stream: make sure `done` runs.
    if (error) {
      started.abort();
    }
  }

  reconnect();
  return {
    get live() {
      return live;
    },
    stop() {
      stopped = true;
      live = false;
      if (retryTimer) {
        clearTimeout(retryTimer);
      }
      controller?.abort();
    }
  };
}

/**
 * The objects a watch delivered, in order, for a loop that waits: `take()` the next one; while `live` is
 * false the loop polls instead; `wait(ms)` ends at the next object, when the watch gives up, on abort, or
 * after `ms`.
 */
export class WatchQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private watch: { readonly live: boolean; stop(): void } | undefined;
  /** Why the watch gave up, once it has. */
  gaveUp: string | undefined;

  /** Starts the watch with this queue's listener (`push`, `giveUp`). */
  start(open: (queue: WatchQueue<T>) => { readonly live: boolean; stop(): void }): this {
    this.watch = open(this);
    return this;
  }

  get live(): boolean {
    return !this.gaveUp && !!this.watch?.live;
  }

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  giveUp(reason: string): void {
    this.gaveUp = reason;
    this.wake?.();
  }

  take(): T | undefined {
    return this.items.shift();
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.items.length > 0 || signal?.aborted) {
      return Promise.resolve();
    }
    return new Promise(resolve => {
      const end = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', end);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      signal?.addEventListener('abort', end);
      this.wake = end;
    });
  }

  stop(): void {
    this.watch?.stop();
    this.wake?.();
  }
}
