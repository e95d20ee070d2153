/**
 * Benchmark: laying out the step graph (layoutPipeline, dagre) of generated,
 * analysed notebooks with 50 and 100 steps: what the graph panel does after
 * each edit. Goal (graph panel issue): 100 steps in < 100 ms, in Node.
 *
 * Run: make bench (prints its figures; not a test).
 */
import { performance } from 'perf_hooks';
import { PythonAnalyser } from '../src/core/analysis';
import type { NotebookData } from '../src/core/notebook/model';
import { analyzeNotebook, PipelineAnalysis } from '../src/core/pipeline';
import { layoutPipeline } from '../src/graph/layout';
import { locateWasmNode } from '../server-proxy/src/wasm-node';

const SIZES = [50, 100];
const WARMUP = 5;
const ROUNDS = 21;

type Shape = 'layered' | 'deep';

/**
 * A generated pipeline with parameters, metrics, names of varying length, indirect data (a step reading
 * a variable of a step further up its chain) and every 17th step missing a prev: (suggested edges).
 * - `layered`: levels 5 steps wide; each step reads one or two steps of the level above, and
 *   sometimes one 2 to 5 levels up (what wide ETL/feature pipelines look like);
 * - `deep` (stress): each step reads one of the 4 steps before it, and often any earlier step:
 *   about one long edge per step, close to 100 ranks for 100 steps.
 */
function generate(steps: number, shape: Shape): NotebookData {
  const cells: NotebookData['cells'] = [];
  const push = (tags: string[], source: string) =>
    cells.push({ index: cells.length, type: 'code', source, tags });
  push(['imports'], 'import numpy as np\nimport pandas as pd');
  push(['pipeline-parameters'], 'seed = 42\nthreshold = 0.5\nregion = "north"');
  // A deterministic pseudo-random sequence, so every run lays out the same graph.
  let state = 12345;
  const rand = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const WIDTH = 5;
  const names: string[] = [];
  const ancestors: Array<Set<number>> = [];
  for (let i = 0; i < steps; i++) {
    const name = i % 7 === 0 ? `load_source_table_${i}` : i % 3 === 0 ? `s${i}` : `transform_${i}`;
    const reads = new Set<number>();
    if (shape === 'layered' && i >= WIDTH) {
      const level = Math.floor(i / WIDTH);
      const w = i % WIDTH;
      reads.add((level - 1) * WIDTH + w);
      if (rand(2) === 0) {
        reads.add((level - 1) * WIDTH + ((w + 1) % WIDTH));
      }
      if (level >= 2 && rand(7) === 0) {
        reads.add((level - 2 - rand(Math.min(level - 1, 4))) * WIDTH + rand(WIDTH));
      }
      if (ancestors[(level - 1) * WIDTH + w].size && rand(5) === 0) {
        const up = [...ancestors[(level - 1) * WIDTH + w]];
        reads.add(up[rand(up.length)]);
      }
    } else if (shape === 'deep' && i >= 3) {
      reads.add(i - 1 - rand(Math.min(i, 4)));
      if (rand(2) === 0) {
        reads.add(rand(i));
      }
      if (rand(3) === 0) {
        reads.add(rand(i));
      }
    }
    const sorted = [...reads].sort((a, b) => a - b);
    // prev: each step read, unless it is already upstream of another one (its data then arrives
    // through an indirect edge); every 17th step forgets its last prev: (a suggested edge).
    const direct = sorted.filter(r => !sorted.some(o => o !== r && ancestors[o].has(r)));
    const declared = i % 17 === 16 ? direct.slice(0, -1) : direct;
    const prev = declared.map(r => `prev:${names[r]}`);
    ancestors.push(new Set(declared.flatMap(r => [r, ...ancestors[r]])));
    const body = [
      `df_${i} = pd.DataFrame({"a": np.arange(10) * ${i}})`,
      ...sorted.map(r => `df_${i}["from_${r}"] = df_${r}["a"].sum() * threshold`),
      i % 5 === 0 ? `np.random.seed(seed)\nlabel_${i} = region` : `label_${i} = "${name}"`
    ];
    push([`step:${name}`, ...prev], body.join('\n'));
    names.push(name);
  }
  push(['pipeline-metrics'], `print(df_${steps - 1}.shape[0])`);
  return { cells, metadata: {} };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const analyser = await PythonAnalyser.create(locateWasmNode);
  console.log('graph layout benchmark (layoutPipeline with dagre, top to bottom)');
  for (const shape of ['layered', 'deep'] as Shape[]) {
    for (const size of SIZES) {
      const analysis: PipelineAnalysis = analyzeNotebook(generate(size, shape), analyser);
      const times: number[] = [];
      let layout = layoutPipeline(analysis);
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        const start = performance.now();
        layout = layoutPipeline(analysis);
        const ms = performance.now() - start;
        if (round >= WARMUP) {
          times.push(ms);
        }
      }
      if (layout.nodes.length !== size) {
        throw new Error(`expected ${size} nodes, laid out ${layout.nodes.length}`);
      }
      const count = (k: string) => layout.edges.filter(e => e.kind === k).length;
      // Ranks, from the distinct node rows; span: ranks crossed by the laid-out edges (dagre's dummy nodes).
      const rows = [...new Set(layout.nodes.map(n => Math.round(n.y + n.height / 2)))].sort((a, b) => a - b);
      const rank = (y: number) => rows.findIndex(r => r >= y - 1);
      const byStep = new Map(layout.nodes.map(n => [n.step, n]));
      const span = layout.edges.reduce((sum, e) => {
        const [from, to] = [byStep.get(e.from)!, byStep.get(e.to)!];
        return sum + Math.abs(rank(to.y + to.height / 2) - rank(from.y + from.height / 2));
      }, 0);
      console.log(
        `  ${shape.padEnd(7)} ${size} steps, ${rows.length} ranks, ${count('declared')} declared + ${count('suggested')} suggested edges ` +
          `(span ${span} ranks; ${layout.indirect.length} indirect, not laid out): median ${median(times).toFixed(1)} ms` +
          `${size === 100 ? ' (goal < 100 ms)' : ''}; min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)} ms`
      );
    }
  }
  console.log(`  (${ROUNDS} runs each after ${WARMUP} warm-up runs)`);
}

void main();
