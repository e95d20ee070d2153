/**
 * The CronWorkflow of a schedule: the Workflow the Argo target compiles, unchanged, under a schedule. The
 * whole document of an example is a golden file (update with CELLPIPE_UPDATE_GOLDEN=1).
 */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { argoDocuments } from '../argo';
import { argoCronWorkflow, SCHEDULE_LABEL } from '../argo-cron';
import { toYaml } from '../yaml-text';
import { analyseFile, EXAMPLES, readNotebookFile } from './helpers';

const GOLDEN = join(__dirname, 'golden', 'pandas-sales.cron.argo.yaml');
const STUB_RUNTIME = '# cellpipe/runtime.py (stubbed in golden files)\n';

async function compiled() {
  const path = join(EXAMPLES, 'pandas-sales.ipynb');
  const nb = readNotebookFile(path);
  return argoDocuments(await analyseFile(path, nb), nb, STUB_RUNTIME, { cellpipeVersion: 'test' });
}

describe('Argo CronWorkflow', () => {
  it('wraps the compiled Workflow: same spec, its labels on every run, the schedule in its time zone', async () => {
    const { workflow } = await compiled();
    const cron = argoCronWorkflow(workflow, {
      name: 'sales-daily',
      schedule: { cron: ' 0 6 * * 1-5 ', timezone: 'Europe/Berlin' }
    });
    expect(cron.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(cron.kind).toBe('CronWorkflow');
    expect(cron.metadata.name).toBe('sales-daily');
    expect(cron.spec.schedules).toEqual(['0 6 * * 1-5']);
    expect(cron.spec.timezone).toBe('Europe/Berlin');
    expect(cron.spec.suspend).toBe(false);
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    // One rule, one place: the runs it starts are the Workflow `cellpipe submit` would create.
    expect(cron.spec.workflowSpec).toEqual(workflow.spec);
    expect(cron.spec.workflowMetadata.labels).toEqual({
      ...workflow.metadata.labels,
      [SCHEDULE_LABEL]: 'sales-daily'
    });
    expect(cron.metadata.labels[SCHEDULE_LABEL]).toBe('sales-daily');
  });

  it('spells a descriptor out, defaults to UTC and refuses a bad expression', async () => {
    const { workflow } = await compiled();
    const cron = argoCronWorkflow(workflow, { name: 'n', schedule: { cron: '@daily' }, suspend: true });
    expect(cron.spec.schedules).toEqual(['0 0 * * *']);
    expect(cron.spec.timezone).toBe('UTC');
    expect(cron.spec.suspend).toBe(true);
    expect(() => argoCronWorkflow(workflow, { name: 'n', schedule: { cron: '0 6 * *' } })).toThrow(
      /has 4 fields; a schedule has five/
    );
  });

  it('matches the golden file', async () => {
    const { workflow } = await compiled();
    const text = toYaml(
      argoCronWorkflow(workflow, {
        name: 'pandas-sales',
        schedule: { cron: '0 6 * * *', timezone: 'Europe/Berlin' }
      })
    );
    if (process.env.CELLPIPE_UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) {
      if (process.env.CELLPIPE_UPDATE_GOLDEN !== '1') {
        throw new Error(`missing golden file ${GOLDEN}: write it with CELLPIPE_UPDATE_GOLDEN=1`);
      }
      writeFileSync(GOLDEN, text);
    }
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
    const doc = parse(text, { version: '1.1' }) as { spec: { workflowSpec: unknown } };
    expect(doc.spec.workflowSpec).toEqual(parse(toYaml(workflow.spec), { version: '1.1' }));
  });
});
