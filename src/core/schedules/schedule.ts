/**
 * A recurring run's schedule: a cron expression in a time zone, checked once here for every shell (the CLI,
 * the server, the sidebar's form) with the rules the cluster engines apply, and its next run times.
 *
 * Argo's CronWorkflow and KFP's scheduled-workflow controller both parse cron with robfig/cron: five
 * fields (minute hour day-of-month month day-of-week, day-of-week 0-6) or a descriptor (`@daily`…); KFP
 * wants a sixth, leading seconds field, which `kfpCron` adds.
 */
import { CronExpressionParser } from 'cron-parser';
import type { ClusterAccess, RecordedSnapshot } from '../runs/run-record';
import type { ParameterValue } from '../tags/parameters';

export interface ScheduleSpec {
  /** Five fields (`0 6 * * *`) or a descriptor (`@daily`). */
  cron: string;
  /** An IANA time zone (`Europe/Berlin`); default UTC. */
  timezone?: string;
}

/** The descriptors robfig/cron reads, as five fields. */
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *'
};

const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

/** The five fields of a cron expression (a descriptor spelled out), or why it is not one. */
export function cronFields(cron: string): { fields: string[] } | { problem: string } {
  const text = cron.trim();
  if (text.startsWith('@')) {
    const fields = DESCRIPTORS[text.toLowerCase()];
    return fields
      ? { fields: fields.split(' ') }
      : { problem: `"${text}" is not a cron descriptor (one of ${Object.keys(DESCRIPTORS).join(', ')})` };
  }
  const fields = text.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    return {
      problem:
        `"${text}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule has five: ` +
        'minute hour day-of-month month day-of-week (e.g. "0 6 * * *" for 06:00 every day)'
    };
  }
  // robfig/cron reads day-of-week 0-6 (Sunday 0); a 7 would be refused by the cluster.
  if (/(^|[,-])7($|[,/-])/.test(fields[4])) {
    return { problem: `"${text}": day of week is 0-6 (Sunday is 0)` };
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { strict: false });
  } catch (err) {
    const which = FIELD_NAMES.find((_, i) => {
      try {
        CronExpressionParser.parse(fields.map((f, j) => (j === i ? f : '*')).join(' '));
        return false;
      } catch {
        return true;
      }
    });
    return {
      problem: `"${text}" is not a valid cron expression${which ? ` (its ${which} field)` : ''}: ${(err as Error).message}`
    };
  }
  return { fields };
}

/** Whether a time zone name is one the cluster can use (IANA, as Go's time.LoadLocation reads). */
export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return null;
  } catch {
    return `"${timezone}" is not a time zone; give an IANA name such as "Europe/Berlin", "America/New_York" or "UTC"`;
  }
}

/** Why a schedule cannot be used, or null. */
export function scheduleProblem(spec: ScheduleSpec): string | null {
  const fields = cronFields(spec.cron);
  if ('problem' in fields) {
    return fields.problem;
  }
  return spec.timezone ? timezoneProblem(spec.timezone) : null;
}

/** The next `count` times the schedule fires after `from` (ISO strings, UTC). */
export function nextRunTimes(spec: ScheduleSpec, from: Date, count = 1): string[] {
  const fields = cronFields(spec.cron);
  if ('problem' in fields) {
    return [];
  }
  const expression = CronExpressionParser.parse(fields.fields.join(' '), {
    currentDate: from,
    tz: spec.timezone || 'UTC'
  });
  return expression.take(count).map(d => d.toDate().toISOString());
}

/** KFP's cron: six fields, seconds first. */
export function kfpCron(cron: string): string {
  const fields = cronFields(cron);
  if ('problem' in fields) {
    throw new Error(fields.problem);
  }
  return ['0', ...fields.fields].join(' ');
}

/**
 * A schedule's name: the CronWorkflow's (Argo names the workflows it starts NAME-TIMESTAMP, so it has at
 * most 52 characters), and the file name of its record. DNS-1123: lower case, digits and `-`.
 */
export const MAX_SCHEDULE_NAME_LENGTH = 52;

export function scheduleNameProblem(name: string): string | null {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return `"${name}" is not a schedule name: lower-case letters, digits and "-", starting and ending with a letter or digit`;
  }
  if (name.length > MAX_SCHEDULE_NAME_LENGTH) {
    return `"${name}" has ${name.length} characters; a schedule name has at most ${MAX_SCHEDULE_NAME_LENGTH}`;
  }
  return null;
}

/** The name a schedule gets when none is given: the pipeline's, as a DNS label. */
export function defaultScheduleName(pipeline: string): string {
  const name = pipeline
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SCHEDULE_NAME_LENGTH)
    .replace(/-+$/, '');
  return /^[a-z0-9]/.test(name)
    ? name
    : `pipeline${name ? `-${name}` : ''}`.slice(0, MAX_SCHEDULE_NAME_LENGTH);
}

/**
 * What `.cellpipe/schedules/NAME.json` beside the notebook records: where the schedule lives on the
 * cluster and what it was made from. Its live state (paused, last and next run) is read from the cluster.
 */
export interface ScheduleRecord {
  name: string;
  notebook: string;
  pipeline: string;
  target: 'argo' | 'kfp';
  cron: string;
  timezone: string;
  parameters: Record<string, ParameterValue>;
  created: string;
  namespace: string;
  /** Argo: the CronWorkflow's name; KFP: the recurring run's id, its pipeline and version, the endpoint. */
  cluster: {
    name?: string;
    id?: string;
    pipelineId?: string;
    versionId?: string;
    experimentId?: string;
    endpoint?: string;
    url?: string;
  };
  /** The VolumeSnapshots every scheduled run restores the workspace from (kept until the schedule is deleted). */
  snapshots: RecordedSnapshot[];
  volumes: 'snapshot' | 'mount';
  /** The runnable steps' cluster task names, to follow the runs it starts (step → task). */
  clusterTasks: Record<string, string>;
  order: string[];
  deps: Record<string, string[]>;
  /** The user's connection settings it was made with (to reach it again the same way). */
  access?: ClusterAccess;
  warnings?: string[];
}

/** A schedule as the CLI and the sidebar show it: the record and its live state on the cluster. */
export interface ScheduleView extends ScheduleRecord {
  paused: boolean;
  /** The next time it fires (none while paused). */
  nextRun?: string;
  /** When it last started a run, as the cluster says. */
  lastRun?: string;
  /** The cluster could not be asked (the message), or no longer has the schedule. */
  problem?: string;
  /** The cellpipe runs it started that are recorded here, newest first. */
  runs: string[];
}
