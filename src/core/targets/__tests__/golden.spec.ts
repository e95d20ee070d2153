/**
 * Golden files: the whole compiled output of two example notebooks, so any
 * change to the YAML is seen in review. The runtime is stubbed (its own tests
 * cover it) so that the files change only with the compiler.
 * Update with: CELLPIPE_UPDATE_GOLDEN=1 npx jest src/core/targets
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { basename, join } from 'path';
import { compileArgo } from '../argo';
import { compileKfp } from '../kfp';
import { DNS_LABEL } from '../k8s-names';
import {
  analyseFile,
  compositionParts,
  EXAMPLES,
  KALE_EXAMPLES,
  notebooksUnder,
  readNotebookFile,
  RUNTIME
} from './helpers';
import { parseAllDocuments } from 'yaml';

/** Read as YAML 1.1, as the KFP SDK (PyYAML) and Argo (Go) read it. */
const parseAll = (text: string): unknown[] =>
  parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS() as unknown);

const GOLDEN = join(__dirname, 'golden');
const STUB_RUNTIME = '# cellpipe/runtime.py (stubbed in golden files)\n';
const UPDATE = process.env.CELLPIPE_UPDATE_GOLDEN === '1';
const TARGETS = { kfp: compileKfp, argo: compileArgo };

describe('golden files', () => {
  for (const notebook of ['iris-classifier.ipynb', 'pandas-sales.ipynb', 'composition/forecast.ipynb']) {
    for (const [target, compile] of Object.entries(TARGETS)) {
      it(`${notebook} → ${target}`, async () => {
        const nb = readNotebookFile(join(EXAMPLES, notebook));
        const analysis = await analyseFile(join(EXAMPLES, notebook), nb);
        const text = compile(analysis, nb, STUB_RUNTIME, { cellpipeVersion: 'test' }).text;
        const file = join(GOLDEN, `${basename(notebook, '.ipynb')}.${target}.yaml`);
        if (UPDATE) {
          mkdirSync(GOLDEN, { recursive: true });
          writeFileSync(file, text);
        }
        // A missing golden file fails: it is written only when asked for (see above).
        expect(existsSync(file)).toBe(true);
        expect(text).toBe(readFileSync(file, 'utf8'));
      });
    }
  }
});

describe('every example notebook compiles to both targets', () => {
  const all = [...notebooksUnder(EXAMPLES), ...notebooksUnder(KALE_EXAMPLES)];
  const parts = compositionParts(all);
  const notebooks = all.filter(p => !parts.has(p));

  it('compiles the parts of a composition within it', () => {
    expect([...parts].map(p => basename(p)).sort()).toEqual(['fit_trend.ipynb', 'make_series.ipynb']);
  });

  it('finds the examples and the Kale examples', () => {
    expect(notebooksUnder(EXAMPLES).length).toBeGreaterThanOrEqual(3);
    expect(notebooksUnder(KALE_EXAMPLES).length).toBeGreaterThanOrEqual(10);
  });

  for (const path of notebooks) {
    it(path.slice(path.lastIndexOf('examples')), async () => {
      const nb = readNotebookFile(path);
      const analysis = await analyseFile(path, nb);
      if (analysis.steps.length === 0) {
        // A notebook without step tags (a helper notebook) has nothing to compile, and says so.
        expect(() => compileKfp(analysis, nb, RUNTIME)).toThrow(/No cell is tagged as a step/);
        return;
      }
      for (const compile of Object.values(TARGETS)) {
        const { text } = compile(analysis, nb, RUNTIME);
        const docs = parseAll(text) as Array<Record<string, unknown>>;
        expect(docs.length).toBeGreaterThanOrEqual(1);
        expect(compile(analysis, nb, RUNTIME).text).toBe(text);
      }
      const kfp = parseAll(compileKfp(analysis, nb, RUNTIME).text)[0] as {
        root: { dag: { tasks: Record<string, unknown> } };
      };
      Object.keys(kfp.root.dag.tasks).forEach(n => expect(n).toMatch(DNS_LABEL));
      // One task per step; a notebook: step is one task too (its sub-DAG holds its steps).
      expect(Object.keys(kfp.root.dag.tasks).length).toBeGreaterThanOrEqual(analysis.steps.length);
    });
  }
});
