/**
 * Target `argo`, on a schedule: the Workflow `argoDocuments` compiles, wrapped in a CronWorkflow. The
 * schedule adds no rule of its own to the pipeline: its `workflowSpec` is the Workflow's spec unchanged, and
 * the Workflow's labels go to every run it starts, with the schedule's own label, by which cellpipe finds
 * those runs (Argo also labels them `workflows.argoproj.io/cron-workflow`).
 */
import { cronFields, ScheduleSpec } from '../schedules/schedule';
import type { ArgoCronWorkflow, ArgoWorkflow } from './argo-workflow';

/** The label of a schedule's CronWorkflow and of every Workflow it starts. */
export const SCHEDULE_LABEL = 'cellpipe.dev/schedule';

export interface CronOptions {
  name: string;
  schedule: ScheduleSpec;
  suspend?: boolean;
  /** How many finished runs Argo keeps (each way); cellpipe records a run when it first sees it. */
  historyLimit?: number;
}

export function argoCronWorkflow(workflow: ArgoWorkflow, options: CronOptions): ArgoCronWorkflow {
  const fields = cronFields(options.schedule.cron);
  if ('problem' in fields) {
    throw new Error(fields.problem);
  }
  const labels = { ...workflow.metadata.labels, [SCHEDULE_LABEL]: options.name };
  const annotations = workflow.metadata.annotations;
  const history = options.historyLimit ?? 10;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'CronWorkflow',
    metadata: { name: options.name, labels, ...(annotations ? { annotations: { ...annotations } } : {}) },
    spec: {
      schedules: [fields.fields.join(' ')],
      timezone: options.schedule.timezone || 'UTC',
      suspend: options.suspend ?? false,
      // A run still going when the next is due (a slow day) is not run twice at once on the same data.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: history,
      failedJobsHistoryLimit: history,
      workflowMetadata: { labels, ...(annotations ? { annotations: { ...annotations } } : {}) },
      workflowSpec: workflow.spec
    }
  };
}
