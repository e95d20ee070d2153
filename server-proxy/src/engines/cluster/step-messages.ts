/**
 * What a cluster says about a step, turned into one line a user can act on: why a queued step does not
 * start (its restored volume is not bound yet, no node fits its requests, the namespace's ResourceQuota, an
 * image that cannot be pulled) and why
 * a step failed (its Python error, after how many attempts; its timeout; out of memory). The raw message
 * of Kubernetes or Argo stays in the line, so nothing it said is lost.
 */

/** Why a queued step does not start yet, with what to do; undefined while nothing is wrong. */
export function waitingReason(step: string, raw: string | undefined, namespace: string): string | undefined {
  const message = raw?.trim();
  if (!message) {
    return undefined;
  }
  if (/exceeded quota/i.test(message)) {
    return (
      `Step ${step} cannot start: namespace ${namespace} is over its ResourceQuota (${message}). ` +
      'It starts when quota is free again (finish or delete other work, or ask for more quota); or cancel the run.'
    );
  }
  if (/unbound immediate PersistentVolumeClaims|persistentvolumeclaim "[^"]+" not found/i.test(message)) {
    // Every step restored from a snapshot waits here a moment while its PVC is provisioned (seen on the lab):
    // not a request to lower, and only a problem when it lasts.
    return (
      `Step ${step} waits for its volumes: the workspace is being restored from its snapshot into a new PVC ` +
      `(${message.replace(/^Unschedulable:\s*/, '')}). If it keeps waiting, the storage driver cannot restore ` +
      "the snapshot: see the PVC's events (kubectl describe pvc), or cancel the run."
    );
  }
  if (/Unschedulable|nodes are available|Insufficient |didn't match|untolerated taint/i.test(message)) {
    return (
      `Step ${step} cannot be scheduled: ${message.replace(/^Unschedulable:\s*/, '')} ` +
      "Lower the step's CPU, memory or GPU request (or its node selector), or cancel the run: it waits for a node that fits."
    );
  }
  const image = /image "([^"]+)"/.exec(message)?.[1];
  if (/ImagePull|ErrImage|InvalidImageName|pull access denied|failed to pull/i.test(message)) {
    return (
      `Step ${step}: ${image ? `its image ${image}` : 'its image'} cannot be pulled (${message}). ` +
      "Check the step's image setting, then cancel this run and run again."
    );
  }
  return undefined;
}

/** A step's Python error as the step runtime records it (`error.json`, the `error` output). */
export interface StepError {
  message?: string;
  ename?: string;
  evalue?: string;
  cell?: number | null;
  line?: number | null;
}

export interface FailureFacts {
  /** What Argo or KFP said (node message). */
  raw?: string;
  /** How many times the step ran (retries + 1 when it was retried). */
  attempts?: number;
  /** The step's timeout setting, in seconds. */
  timeoutSeconds?: number;
  /** The step's own error, when it got to run its cells. */
  error?: StepError;
}

/** Why a step failed, in one line: its own error first, else what the cluster did to it. */
export function failureMessage(step: string, facts: FailureFacts): string {
  const raw = facts.raw?.trim() ?? '';
  const tries = facts.attempts && facts.attempts > 1 ? ` after ${facts.attempts} attempts` : '';
  if (facts.timeoutSeconds && /deadline|DeadlineExceeded|active.*longer than/i.test(raw)) {
    return (
      `Step ${step} was stopped at its timeout of ${facts.timeoutSeconds} s${tries}. ` +
      "Raise the step's timeout setting, or make the step faster."
    );
  }
  if (/OOMKilled/.test(raw)) {
    return (
      `Step ${step} ran out of memory and was killed${tries} (OOMKilled). ` +
      "Raise the step's memory limit, or make it use less."
    );
  }
  const error = facts.error;
  if (error && (error.message || error.ename)) {
    const what = error.message ?? `${error.ename}: ${error.evalue ?? ''}`;
    return `Step ${step} failed${tries}: ${what}`;
  }
  return `Step ${step} failed on the cluster${tries}${raw ? `: ${raw}` : '.'}`;
}
