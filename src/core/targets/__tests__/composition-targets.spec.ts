/**
 * A notebook: step on the cluster targets: a KFP DAG component and an Argo dag template per sub-pipeline,
 * with the variables, the run's parameters and the restored volumes handed across each boundary; and the
 * local step programs of its steps.
 */
import type { NotebookData } from '../../notebook/model';
import { NotebookMap } from '../../composition/references';
import { analyzeNotebook, PipelineAnalysis } from '../../pipeline';
import { compileArgo } from '../argo';
import { CompileError } from '../cluster-step';
import { compileKfp } from '../kfp';
import { stepProgram } from '../step-program';
import { decodeArg as decode, analyser, RUNTIME } from './helpers';
import { parseAllDocuments } from 'yaml';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test access into parsed YAML
const parseAll = (text: string): Json[] => parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS());
function nb(name: string, cells: Array<[string[], string, string?]>, metadata = {}): NotebookData {
  return {
    name,
    metadata,
    cells: cells.map(([tags, source, notebookPath], index) => ({
      index,
      type: 'code',
      tags,
      source,
      ...(notebookPath ? { notebookPath } : {})
    }))
  };
}

const leaf = nb('leaf.ipynb', [[['step:make'], 'base = [1, 2, 3]']]);
const middle = nb('middle.ipynb', [
  [['pipeline-parameters'], 'factor = 5\nown = "{{workflow.name}}"'],
  [['notebook:leaf'], '', 'lib/leaf.ipynb'],
  [['step:grow', 'cache:disabled', 'report:disabled'], 'grown = [b * factor for b in base]\nprint(own)']
]);
const main = nb(
  'main.ipynb',
  [
    [['pipeline-parameters'], 'factor = 3\nlabel = "x"'],
    [['step:prepare'], 'offset = 10'],
    [['notebook:middle'], '', 'middle.ipynb'],
    [['step:total'], 'total = sum(grown) + offset + len(base)'],
    [['pipeline-metrics'], 'print(total)']
  ],
  {
    cellpipe: { name: 'nested', volumes: [{ name: 'home-pvc', mountPath: '/home/jovyan', type: 'snapshot' }] }
  }
);

async function analysis(): Promise<PipelineAnalysis> {
  const files = new Map([
    ['middle.ipynb', { notebook: middle }],
    ['lib/leaf.ipynb', { notebook: leaf }]
  ]);
  return analyzeNotebook(main, await analyser(), { path: 'main.ipynb', resolver: new NotebookMap(files) });
}

describe('a notebook: step on KFP', () => {
  it('is a DAG component whose tasks are its steps, nested for nested notebooks', async () => {
    const [spec, platform] = parseAll(compileKfp(await analysis(), main, RUNTIME).text);
    expect(Object.keys(spec.root.dag.tasks).sort()).toEqual([
      'createpvc-home-pvc',
      'deletepvc-home-pvc',
      'middle',
      'prepare',
      'total'
    ]);
    const middleTask = spec.root.dag.tasks.middle;
    expect(middleTask.componentRef).toEqual({ name: 'comp-middle' });
    // The run's factor is handed down (middle declares it); the restored volume's claim name too.
    expect(middleTask.inputs.parameters).toEqual({
      factor: { componentInputParameter: 'factor' },
      pvc_vol_home_pvc: {
        taskOutputParameter: { outputParameterKey: 'name', producerTask: 'createpvc-home-pvc' }
      }
    });
    expect(middleTask.dependentTasks).toEqual(['createpvc-home-pvc', 'prepare']);
    const comp = spec.components['comp-middle'];
    expect(Object.keys(comp.dag.tasks).sort()).toEqual(['middle-grow', 'middle-leaf']);
    expect(comp.dag.tasks['middle-leaf'].componentRef).toEqual({ name: 'comp-middle-leaf' });
    expect(spec.components['comp-middle-leaf'].dag.tasks['middle-leaf-make'].componentRef.name).toBe(
      'comp-middle-leaf-make'
    );
    // base leaves two DAGs to reach total; grown leaves one.
    expect(comp.dag.outputs.artifacts).toEqual({
      base: { artifactSelectors: [{ outputArtifactKey: 'base', producerSubtask: 'middle-leaf' }] },
      grown: { artifactSelectors: [{ outputArtifactKey: 'grown', producerSubtask: 'middle-grow' }] }
    });
    expect(spec.components['comp-middle-leaf'].dag.outputs.artifacts.base.artifactSelectors).toEqual([
      { outputArtifactKey: 'base', producerSubtask: 'middle-leaf-make' }
    ]);
    expect(comp.dag.tasks['middle-grow'].inputs.artifacts.base).toEqual({
      taskOutputArtifact: { outputArtifactKey: 'base', producerTask: 'middle-leaf' }
    });
    // The interpreter state skips the notebook step (its notebook runs in a kernel of its own, as run alone).
    expect(spec.root.dag.tasks.total.inputs.artifacts).toEqual({
      base: { taskOutputArtifact: { outputArtifactKey: 'base', producerTask: 'middle' } },
      cellpipe_state_prepare: {
        taskOutputArtifact: { outputArtifactKey: 'cellpipe_state', producerTask: 'prepare' }
      },
      grown: { taskOutputArtifact: { outputArtifactKey: 'grown', producerTask: 'middle' } },
      offset: { taskOutputArtifact: { outputArtifactKey: 'offset', producerTask: 'prepare' } }
    });
    expect(
      Object.keys(spec.components['comp-middle-leaf'].dag.tasks['middle-leaf-make'].inputs?.artifacts ?? {})
    ).not.toContain('cellpipe_state_prepare');
    // Kale 2.x tags of the child's step.
    expect(comp.dag.tasks['middle-grow'].cachingOptions).toEqual({ enableCache: false });
    expect(spec.components['comp-middle-grow'].outputDefinitions.artifacts.step_outputs).toBeUndefined();
    // Inside a sub-DAG the volume's claim comes from the DAG's inputs.
    const executors = platform.platforms.kubernetes.deploymentSpec.executors;
    expect(executors['exec-middle-grow'].pvcMount[0].pvcNameParameter).toEqual({
      componentInputParameter: 'pvc_vol_home_pvc'
    });
    expect(executors['exec-total'].pvcMount[0].pvcNameParameter.taskOutputParameter.producerTask).toBe(
      'createpvc-home-pvc'
    );
    // The restored volumes are deleted after the pipeline's own last task.
    expect(spec.root.dag.tasks['deletepvc-home-pvc'].dependentTasks).toEqual(['createpvc-home-pvc', 'total']);
  });

  it("keeps a sub-pipeline's own parameter values in its program, never in the YAML", async () => {
    const text = compileKfp(await analysis(), main, RUNTIME).text;
    const [spec] = parseAll(text);
    expect(text).not.toContain('{{workflow.name}}');
    expect(spec.components['comp-middle-grow'].inputDefinitions.parameters).toEqual({
      factor: { parameterType: 'NUMBER_INTEGER' }
    });
    const args: string[] = spec.deploymentSpec.executors['exec-middle-grow'].container.args;
    expect(decode(args[0])).toContain('"own": "{{workflow.name}}"');
    expect(decode(args[0])).toContain('"factor": 3');
  });

  it('refuses a composition with a cycle of notebooks', async () => {
    const self = nb('self.ipynb', [
      [['step:a'], 'x = 1'],
      [['notebook:me'], '', 'self.ipynb']
    ]);
    const a = analyzeNotebook(self, await analyser(), {
      path: 'self.ipynb',
      resolver: new NotebookMap(new Map([['self.ipynb', { notebook: self }]]))
    });
    expect(() => compileKfp(a, self, RUNTIME)).toThrow(CompileError);
    expect(() => compileArgo(a, self, RUNTIME)).toThrow(/already running it: self\.ipynb → self\.ipynb/);
  });
});

describe('a notebook: step on Argo', () => {
  it('is a dag template called by one task, with the run parameters it gets from the workflow', async () => {
    const doc = parseAll(compileArgo(await analysis(), main, RUNTIME).text)[0];
    const templates = Object.fromEntries((doc.spec.templates as Json[]).map(t => [t.name, t]));
    expect(templates.main.dag.tasks).toEqual([
      { name: 'prepare', template: 'prepare' },
      { name: 'middle', template: 'middle', dependencies: ['prepare'] },
      { name: 'total', template: 'total', dependencies: ['middle', 'prepare'] }
    ]);
    expect(templates.middle.dag.tasks).toEqual([
      { name: 'middle-leaf', template: 'middle-leaf' },
      { name: 'middle-grow', template: 'middle-grow', dependencies: ['middle-leaf'] }
    ]);
    expect(templates['middle-leaf'].dag.tasks).toEqual([
      { name: 'middle-leaf-make', template: 'middle-leaf-make' }
    ]);
    const grow = templates['middle-grow'].container.args as string[];
    expect(grow.slice(3)).toEqual(
      expect.arrayContaining(['--param', 'factor', '{{workflow.parameters.factor}}'])
    );
    // Only the run's parameters are flags: middle's own `own` (which holds {{...}}) stays in the program.
    expect(grow.slice(3).filter(a => ['label', 'own'].includes(a))).toEqual([]);
  });
});

describe('the step programs of a sub-pipeline', () => {
  it("run the child's cells and prelude, name themselves NOTEBOOK_STEP.STEP and load from the runnable providers", async () => {
    const a = await analysis();
    const program = stepProgram({
      analysis: a,
      notebook: main,
      step: 'middle.grow',
      runtimeSource: '# runtime\n'
    });
    expect(program).toContain('"step": "middle.grow"');
    expect(program).toContain('"base": "middle.leaf.make"');
    expect(program).toContain('(2, "grown = [b * factor for b in base]\\nprint(own)")');
    expect(program).toContain('"outs": ["grown"]');
    const total = stepProgram({ analysis: a, notebook: main, step: 'total', runtimeSource: '# runtime\n' });
    expect(total).toContain('"grown": "middle.grow"');
    expect(total).toContain('"metrics": ["total"]');
    expect(() => stepProgram({ analysis: a, notebook: main, step: 'middle', runtimeSource: '' })).toThrow(
      /no step "middle"/
    );
  });
});
