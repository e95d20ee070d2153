/**
 * Re-analysing a notebook after an edit (what the sidebar does as the user types) gives what analysing it
 * from scratch gives: random edits of the example, Kale and corpus notebooks, each analysis compared whole.
 */
import { existsSync } from 'fs';
import { dirname, join, relative } from 'path';
import { PythonAnalyser } from '../analysis';
import { FlowReplay } from '../flow/flow';
import type { CellData, NotebookData } from '../notebook/model';
import { analyzeNotebook, AnalyzeOptions, PipelineAnalysis } from '../pipeline';
import { analysisOptions } from '../../../server-proxy/src/notebook-file';
import {
  compositionParts,
  EXAMPLES,
  KALE_EXAMPLES,
  notebooksUnder,
  readNotebookFile,
  REPO_ROOT
} from '../targets/__tests__/helpers';
import { createAnalyser } from './support';

/** The real-notebook corpus, where `make corpus` (or cellpipe.tests.corpus.fetch) has put it. */
const CORPUS = join(REPO_ROOT, 'build', 'corpus', 'notebooks');
const EDITS = 30;

const all = [...notebooksUnder(EXAMPLES), ...notebooksUnder(KALE_EXAMPLES)];
const parts = compositionParts(all);
const corpus = existsSync(CORPUS) ? notebooksUnder(CORPUS) : [];
const cases: Array<[string, string, boolean]> = [
  ...all.filter(p => !parts.has(p)).map((p): [string, string, boolean] => [relative(REPO_ROOT, p), p, false]),
  // Corpus notebooks have no tags: tagged as a Kale user would, every code cell a step chained with prev:.
  ...corpus.map((p): [string, string, boolean] => [relative(REPO_ROOT, p), p, true])
];

/** A small seeded generator (mulberry32): the same edits on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function everyCellAStep(nb: NotebookData): NotebookData {
  let previous: string | undefined;
  const cells = nb.cells.map((cell, i): CellData => {
    if (cell.type !== 'code') {
      return cell;
    }
    const tags = [`step:c${i}`, ...(previous ? [`prev:${previous}`] : [])];
    previous = `c${i}`;
    return { ...cell, tags };
  });
  return { ...nb, cells };
}

type Edit = (source: string, pick: <T>(xs: readonly T[]) => T, n: number, names: string[]) => string;

const lines = (s: string) => s.split('\n');

/** Edits a user makes while typing: most leave the flow as it was, some change it. */
const EDITS_BY_KIND: Record<string, Edit> = {
  'new name': (s, _p, n) => `${s}\nfresh_${n} = ${n}`,
  'blank line above': s => `\n${s}`,
  'comment line': (s, pick) => {
    const ls = lines(s);
    ls.splice(pick(ls.map((_, i) => i)), 0, '# a note');
    return ls.join('\n');
  },
  'spaces around =': (s, pick) => {
    const at = [...s.matchAll(/=/g)].map(m => m.index!);
    const i = at.length ? pick(at) : -1;
    return i < 0 ? s : `${s.slice(0, i)} = ${s.slice(i + 1)}`;
  },
  'rebind a name': (s, pick, n, names) => (names.length ? `${s}\n${pick(names)} = ${n}` : s),
  'read a name': (s, pick, _n, names) => (names.length ? `${s}\nprint(${pick(names)})` : s),
  'change a name in place': (s, pick, n, names) => (names.length ? `${s}\n${pick(names)}.append(${n})` : s),
  'two lines on one': (s, pick) => {
    const ls = lines(s);
    const i = pick(ls.map((_, k) => k));
    return i + 1 < ls.length
      ? [...ls.slice(0, i), `${ls[i]}; ${ls[i + 1]}`, ...ls.slice(i + 2)].join('\n')
      : s;
  },
  'delete a line': (s, pick) => {
    const ls = lines(s);
    ls.splice(pick(ls.map((_, i) => i)), 1);
    return ls.join('\n');
  },
  'swap two lines': (s, pick) => {
    const ls = lines(s);
    const i = pick(ls.map((_, k) => k));
    const j = pick(ls.map((_, k) => k));
    [ls[i], ls[j]] = [ls[j], ls[i]];
    return ls.join('\n');
  }
};

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
}, 60000);

/** From scratch: a new analyser has no cell analyses and no flow of an earlier analysis. */
async function fromScratch(nb: NotebookData, options: AnalyzeOptions): Promise<PipelineAnalysis> {
  const fresh = await createAnalyser();
  try {
    return analyzeNotebook(nb, fresh, options);
  } finally {
    fresh.parser.delete();
  }
}

const replays = jest.spyOn(FlowReplay.prototype, 'run');
let edits = 0;
let withoutReplay = 0;

describe.each(cases)('%s', (name, path, tagEveryCell) => {
  it('re-analysed after each random edit, as analysed from scratch', async () => {
    const original = readNotebookFile(path);
    let nb = tagEveryCell ? everyCellAStep(original) : original;
    const options = await analysisOptions(path, nb, dirname(path));
    const first = analyzeNotebook(nb, analyser, options);
    const names = [...new Set([...first.analyses.values()].flatMap(a => a.events.map(e => e.name)))].sort();
    const code = nb.cells.filter(c => c.type === 'code').map(c => c.index);
    // Seeded by the path in the repository, not where the clone is: the same edits in every checkout.
    const next = random([...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const done: string[] = [];
    for (let n = 0; n < EDITS && code.length > 0; n++) {
      const index = pick(code);
      const kind = next() < 0.15 ? 'undo' : pick(Object.keys(EDITS_BY_KIND));
      const cell = nb.cells[index];
      const source =
        kind === 'undo' ? original.cells[index].source : EDITS_BY_KIND[kind](cell.source, pick, n, names);
      nb = { ...nb, cells: nb.cells.map(c => (c.index === index ? { ...c, source } : c)) };
      done.push(`cell ${index}: ${kind}`);
      const before = replays.mock.calls.length;
      const incremental = analyzeNotebook(nb, analyser, options);
      withoutReplay += replays.mock.calls.length === before ? 1 : 0;
      edits++;
      expect({ edits: done, analysis: incremental }).toStrictEqual({
        edits: done,
        analysis: await fromScratch(nb, options)
      });
    }
  }, 120000);
});

afterAll(() => {
  // The edits above include many the flow answers without a replay, and replays from a cell below the top
  // (from the state a replay kept before its first changed cell): the comparison covers those paths.
  expect(withoutReplay).toBeGreaterThan(edits / 5);
  const resumed = replays.mock.contexts.filter(replay => replay.resume !== undefined).length;
  expect(resumed).toBeGreaterThan(edits / 25);
});
