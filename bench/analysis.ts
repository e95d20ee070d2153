/**
 * Benchmark: analysing a generated 500-cell notebook from scratch, and again
 * after one edited cell (what the sidebar does as the user types).
 * Goals (issue 2): from scratch < 100 ms, one-cell re-analysis < 5 ms, in Node.
 *
 * Run: make bench-analysis (prints its figures; not a test).
 */
import { performance } from 'perf_hooks';
import { PythonAnalyser } from '../src/core/analysis';
import type { NotebookData } from '../src/core/notebook/model';
import { analyzeNotebook } from '../src/core/pipeline';
import { locateWasmNode } from '../server-proxy/src/wasm-node';

const CELLS = 500;
const STEP_EVERY = 5;
/** The first rounds include V8's warm-up; the median is over all of them. */
const ROUNDS = 15;

/** A realistic-looking notebook: imports, parameters, 100 steps of 5 cells each passing data down a chain. */
function generate(cells: number, salt: string): NotebookData {
  const out: NotebookData['cells'] = [];
  const push = (source: string, tags: string[]) =>
    out.push({ index: out.length, type: 'code', source, tags });
  push('import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression', [
    'imports'
  ]);
  push('seed = 42\nscale = 0.5\nname = "bench"', ['pipeline-parameters']);
  for (let i = 0; out.length < cells - 1; i++) {
    const step = Math.floor(i / STEP_EVERY);
    const tags = i % STEP_EVERY === 0 ? [`step:s${step}`, ...(step > 0 ? [`prev:s${step - 1}`] : [])] : [];
    const prev = step > 0 ? `v${step - 1}_4` : 'seed';
    out.push({
      index: out.length,
      type: 'code',
      tags,
      source: [
        `# cell ${i} ${salt}`,
        `def helper_${i}(x, k=${i}):`,
        `    total = sum(v * scale for v in range(k))`,
        `    return [t for t in x if t > total] if isinstance(x, list) else x`,
        `v${step}_${i % STEP_EVERY} = helper_${i}(${i % STEP_EVERY === 0 ? prev : `v${step}_${(i % STEP_EVERY) - 1}`})`,
        `frame_${i} = pd.DataFrame({"a": np.arange(10) * ${i}, "b": np.ones(10)})`,
        `frame_${i}["c"] = frame_${i}["a"] + frame_${i}["b"]`,
        `with open("/dev/null") as fh:`,
        `    fh.read()`,
        `print(f"{name}: {v${step}_${i % STEP_EVERY}!r:>10}")`
      ].join('\n')
    });
  }
  out.push({ index: out.length, type: 'code', source: 'print(seed)', tags: ['pipeline-metrics'] });
  return { cells: out, metadata: {} };
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const result = fn();
  return [result, performance.now() - start];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const lines = generate(CELLS, 'x').cells.reduce((n, c) => n + c.source.split('\n').length, 0);
  const scratch: number[] = [];
  const cellsOnly: number[] = [];
  const flowOnly: number[] = [];
  const edits: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh analyser has an empty cache: "from scratch". Parser start-up is paid once per process, outside.
    const analyser = await PythonAnalyser.create(locateWasmNode);
    const notebook = generate(CELLS, `round${round}`);
    const [result, ms] = time(() => analyzeNotebook(notebook, analyser));
    scratch.push(ms);
    // The same work split in two: parsing and analysing every cell, then everything else with a warm cache.
    const fresh = await PythonAnalyser.create(locateWasmNode);
    const copy = generate(CELLS, `split${round}`);
    cellsOnly.push(time(() => copy.cells.forEach(c => fresh.analyseCell(c.source)))[1]);
    flowOnly.push(time(() => analyzeNotebook(copy, fresh))[1]);
    if (result.steps.length === 0) {
      throw new Error('benchmark notebook produced no steps');
    }
    for (let e = 0; e < 20; e++) {
      const cell = notebook.cells[100 + e];
      notebook.cells[100 + e] = { ...cell, source: cell.source + `\nedited_${e} = ${e}` };
      edits.push(time(() => analyzeNotebook(notebook, analyser))[1]);
    }
  }
  console.log(`analysis benchmark: ${CELLS} cells, ${lines} lines of Python`);
  console.log(
    `  from scratch:          median ${median(scratch).toFixed(1)} ms (goal < 100 ms; runs: ${scratch.map(x => x.toFixed(0)).join(', ')})`
  );
  console.log(
    `    of which parsing and analysing the cells: median ${median(cellsOnly).toFixed(1)} ms; steps, flow and diagnostics: ${median(flowOnly).toFixed(1)} ms`
  );
  console.log(
    `  after one edited cell: median ${median(edits).toFixed(2)} ms (goal < 5 ms; max ${Math.max(...edits).toFixed(2)} ms)`
  );
}

void main();
