import { readFileSync } from 'fs';
import { join } from 'path';
import Ajv from 'ajv/dist/2020';
import { readNotebook } from '../../notebook/read';
import type { NotebookData } from '../../notebook/model';
import { parseCellTags } from '../grammar';
import { parseMetrics } from '../metrics';
import { parseQuantity } from '../quantity';
import { readPipelineSettings, resolveStepSettings, stepSettingProblems } from '../settings';

const KALE = join(__dirname, '../../../../../shared/kale-examples');
const SCHEMA = join(__dirname, '../../../../schema/metadata');
const loadKale = (path: string) => readNotebook(JSON.parse(readFileSync(join(KALE, path), 'utf8')), path);
const notebook = (metadata: Record<string, unknown>): NotebookData => ({ cells: [], metadata });

describe('pipeline settings', () => {
  it('reads metadata.cellpipe', () => {
    const { settings, diagnostics } = readPipelineSettings(
      notebook({
        cellpipe: {
          name: 'p',
          description: 'd',
          target: 'argo',
          namespace: 'ml',
          volumes: [{ name: 'ws', mountPath: '/home/jovyan' }]
        }
      })
    );
    expect(diagnostics).toEqual([]);
    expect(settings).toMatchObject({
      name: 'p',
      description: 'd',
      target: 'argo',
      namespace: 'ml',
      source: 'cellpipe'
    });
    expect(settings.volumes).toEqual([{ name: 'ws', mountPath: '/home/jovyan', type: 'pvc' }]);
  });

  it('reads Kale metadata when there is no cellpipe metadata', () => {
    const { settings } = readPipelineSettings(loadKale('openvaccine-kaggle-competition/open-vaccine.ipynb'));
    expect(settings).toMatchObject({
      source: 'kale',
      name: 'open-vaccine-model',
      snapshot: true,
      target: 'local'
    });
  });

  it('applies Kale steps_defaults to every step, below the step tags', () => {
    const nb = notebook({
      kubeflow_notebook: { pipeline_name: 'k', steps_defaults: ['label:team:ml', 'limit:memory:2Gi'] }
    });
    const { settings } = readPipelineSettings(nb);
    const roles = new Map([[0, parseCellTags(['step:a', 'limit:memory:4Gi'], 0).role]]);
    expect(resolveStepSettings(settings, 'a', roles, [0]).settings).toEqual({
      labels: { team: 'ml' },
      memory: { limit: '4Gi' }
    });
  });

  it('lets metadata.cellpipe.steps override the tags', () => {
    const nb = notebook({ cellpipe: { steps: { a: { memory: { request: '1Gi' }, retries: 2 } } } });
    const roles = new Map([
      [0, parseCellTags(['step:a', 'limit:memory:4Gi', 'limit:nvidia.com/gpu:1'], 0).role]
    ]);
    const { settings, diagnostics } = resolveStepSettings(readPipelineSettings(nb).settings, 'a', roles, [0]);
    expect(diagnostics).toEqual([]);
    expect(settings).toEqual({
      memory: { request: '1Gi', limit: '4Gi' },
      gpu: { count: 1, vendor: 'nvidia' },
      retries: 2
    });
  });

  it('names the default pipeline after the notebook file', () => {
    expect(readPipelineSettings(notebook({}), 'My Notebook (v2).ipynb').settings.name).toBe('my-notebook-v2');
  });

  it('reports an unknown target', () => {
    expect(
      readPipelineSettings(notebook({ cellpipe: { target: 'airflow' } })).diagnostics[0].message
    ).toContain('"airflow" is not one of local, kfp, argo');
  });
});

describe('step setting validation', () => {
  it.each([
    [{ cpu: { request: '500m', limit: '2' } }, []],
    [{ memory: { request: '2GB' } }, ['memory.request']],
    [{ memory: { request: '4Gi', limit: '2Gi' } }, ['memory.request']],
    [{ cpu: { limit: '-1' } }, ['cpu.limit']],
    [{ env: { 'BAD-NAME': 'x', GOOD: 'y' } }, ['env']],
    [{ secrets: [{ env: 'TOKEN', secret: 'my-secret', key: 'token' }] }, []],
    [{ secrets: [{ env: 'TOKEN', secret: 'My_Secret', key: 'token' }] }, ['secrets']],
    [{ retries: -1 }, ['retries']],
    [{ retries: 1.5 }, ['retries']],
    [{ timeout: 0 }, ['timeout']],
    [{ labels: { team: 'has space' } }, ['labels']],
    [{ gpu: { count: 1.5, vendor: 'nvidia' } }, ['gpu.count']]
  ])('%j → problems in %j', (settings, fields) => {
    expect(stepSettingProblems(settings as never).map(p => p.field)).toEqual(fields);
  });

  it('says what a good value looks like', () => {
    expect(stepSettingProblems({ memory: { limit: '2GB' } })[0].problem).toContain('512Mi or 2Gi');
  });

  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['2Gi', 2 * 2 ** 30],
    ['128Mi', 128 * 2 ** 20],
    ['1e3', 1000],
    ['1k', 1000],
    ['2GB', null],
    ['abc', null],
    ['-1', null],
    ['', null]
  ])('reads the quantity %s as %p', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });
});

describe('metadata JSON Schema', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const step = JSON.parse(readFileSync(join(SCHEMA, 'step-settings.schema.json'), 'utf8'));
  ajv.addSchema(step);
  const validate = ajv.compile(
    JSON.parse(readFileSync(join(SCHEMA, 'notebook-metadata.schema.json'), 'utf8'))
  );
  const examples = join(__dirname, '../../../../examples');

  it.each(['iris-classifier.ipynb', 'numpy-montecarlo.ipynb', 'pandas-sales.ipynb'])(
    'accepts the metadata of %s',
    file => {
      const nb = JSON.parse(readFileSync(join(examples, file), 'utf8'));
      expect(validate(nb.metadata.cellpipe)).toBe(true);
    }
  );

  it('rejects bad values and names the field', () => {
    expect(validate({ target: 'airflow', steps: { a: { memory: { limit: '2GB' }, retries: -1 } } })).toBe(
      false
    );
    const paths = (validate.errors ?? []).map(e => e.instancePath);
    expect(paths).toEqual(expect.arrayContaining(['/target', '/steps/a/memory/limit', '/steps/a/retries']));
  });
});

describe('pipeline-metrics cell', () => {
  it('reads print(name) and bare names, and rejects anything else at its line', () => {
    const { metrics, diagnostics } = parseMetrics('# metrics\nprint(acc)\nloss\n\nprint(acc * 2)', 9);
    expect(metrics).toEqual([
      { name: 'acc', line: 2 },
      { name: 'loss', line: 3 }
    ]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: 'invalid-metric', cell: 9, line: 5 });
  });
});
