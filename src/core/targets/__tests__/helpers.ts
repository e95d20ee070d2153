/** Shared fixtures of the cluster target tests: notebooks from cells, and the analyses of files. */
import { readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { inflateSync } from 'zlib';
import { PythonAnalyser } from '../../analysis';
import { notebookReferences, referencePath } from '../../composition/references';
import type { NotebookData } from '../../notebook/model';
import { readNotebook } from '../../notebook/read';
import { analyzeNotebook, PipelineAnalysis } from '../../pipeline';
import { analysisOptions } from '../../../../server-proxy/src/notebook-file';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';

export const REPO_ROOT = resolve(__dirname, '../../../..');
export const RUNTIME = readFileSync(join(REPO_ROOT, 'cellpipe/runtime.py'), 'utf8');
export const EXAMPLES = join(REPO_ROOT, 'examples');
export const KALE_EXAMPLES = resolve(REPO_ROOT, '..', 'shared', 'kale-examples');

/** The text of a container argument: a step program (zlib, then base64) or another base64 argument. */
export function decodeArg(arg: string): string {
  const bytes = Buffer.from(arg, 'base64');
  // zlib's header: CMF 0x78 and a check that makes (CMF * 256 + FLG) a multiple of 31.
  const zlib = bytes[0] === 0x78 && (bytes[0] * 256 + bytes[1]) % 31 === 0;
  return (zlib ? inflateSync(bytes) : bytes).toString('utf8');
}

let shared: Promise<PythonAnalyser> | undefined;
export function analyser(): Promise<PythonAnalyser> {
  shared ??= PythonAnalyser.create(locateWasmNode);
  return shared;
}

export function notebookOf(
  cells: Array<[string[], string]>,
  metadata: Record<string, unknown> = {},
  name = 'demo.ipynb'
): NotebookData {
  return {
    name,
    metadata,
    cells: cells.map(([tags, source], index) => ({ index, type: 'code', tags, source }))
  };
}

export async function analyse(nb: NotebookData): Promise<PipelineAnalysis> {
  return analyzeNotebook(nb, await analyser());
}

/** The analysis of a notebook file with the notebooks its notebook: steps run, read from disk. */
export async function analyseFile(path: string, nb = readNotebookFile(path)): Promise<PipelineAnalysis> {
  return analyzeNotebook(nb, await analyser(), await analysisOptions(path, nb, dirname(path)));
}

/**
 * The notebooks that another of `paths` runs as a notebook: step: parts of a composition, analysed and
 * compiled within it (alone they read variables they do not define, as in Kale 2.x).
 */
export function compositionParts(paths: readonly string[]): Set<string> {
  const parts = new Set<string>();
  for (const path of paths) {
    for (const ref of notebookReferences(readNotebookFile(path))) {
      parts.add(resolve(referencePath(path, ref.path)));
    }
  }
  return parts;
}

export function readNotebookFile(path: string): NotebookData {
  return readNotebook(JSON.parse(readFileSync(path, 'utf8')), path.split('/').pop()!);
}

export function notebooksUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (entry.startsWith('.')) {
      continue;
    }
    if (statSync(full).isDirectory()) {
      out.push(...notebooksUnder(full));
    } else if (entry.endsWith('.ipynb')) {
      out.push(full);
    }
  }
  return out;
}

/** A demo pipeline with every kind of setting. */
export function settingsNotebook(): NotebookData {
  return notebookOf(
    [
      [['imports'], 'import math'],
      [
        ['pipeline-parameters'],
        'rate = 0.5\ncount = 3\nlabel = "x"\nflag = True\nitems = [1, 2]\nconf = {"a": 1}'
      ],
      [['step:load', 'limit:cpu:2', 'annotation:team:ml', 'label:tier:gold'], 'data = [rate] * count'],
      [['step:train', 'prev:load', 'limit:nvidia.com/gpu:1'], 'model = sum(data)\nscore = model * 2'],
      [['step:report', 'prev:train'], 'print(label, flag, items, conf)'],
      [['pipeline-metrics'], 'score']
    ],
    {
      cellpipe: {
        name: 'Demo Pipeline',
        image: 'quay.io/jupyter/scipy-notebook:2026-01-01',
        volumes: [
          { name: 'data-pvc', mountPath: '/data', type: 'pvc' },
          { name: 'home-pvc', mountPath: '/home/jovyan', type: 'snapshot' }
        ],
        steps: {
          train: {
            cpu: { request: '500m', limit: '1' },
            memory: { request: '1Gi', limit: '2Gi' },
            env: { MODE: 'fast' },
            secrets: [{ env: 'DB_PASSWORD', secret: 'db-credentials', key: 'password' }],
            nodeSelector: { pool: 'gpu' },
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            retries: 2,
            timeout: 600,
            caching: false
          }
        }
      }
    }
  );
}
