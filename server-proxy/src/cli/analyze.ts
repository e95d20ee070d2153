/**
 * `cellpipe analyze NOTEBOOK [--json]`: what the pipeline would be, and every
 * place where it would not compute what the notebook computes.
 *
 * Exit status: 0 no error diagnostic, 1 at least one, 2 unusable input.
 */
import { basename } from 'path';
import type { Diagnostic } from '../../../src/core/diagnostics';
import { analyzeNotebook, PipelineAnalysis } from '../../../src/core/pipeline';
import { analysisOptions, loadNotebookFile } from '../notebook-file';
import { nodeAnalyser } from '../node-analyser';

export interface AnalyzeOptions {
  json?: boolean;
}

export async function analyzeCommand(
  path: string,
  options: AnalyzeOptions,
  out: NodeJS.WritableStream
): Promise<number> {
  const notebook = await loadNotebookFile(path);
  const analysis = analyzeNotebook(notebook, await nodeAnalyser(), await analysisOptions(path, notebook));
  out.write(
    options.json ? JSON.stringify(toJson(analysis), null, 2) + '\n' : formatSummary(basename(path), analysis)
  );
  return analysis.diagnostics.some(d => d.severity === 'error') ? 1 : 0;
}

/**
 * The stable JSON contract of `analyze --json` (users' scripts rely on it). A notebook step also has
 * `notebook {path, parameters, passed, reads, provides, steps}`: its sub-pipeline, whose steps have the
 * same shape.
 */
export function toJson(a: PipelineAnalysis): Record<string, unknown> {
  return {
    pipeline: a.pipeline,
    steps: stepsJson(a),
    parameters: a.parameters,
    metrics: a.metrics,
    suggestions: a.suggestions,
    diagnostics: a.diagnostics
  };
}

function stepsJson(a: PipelineAnalysis): Array<Record<string, unknown>> {
  return a.steps.map(s => {
    const json: Record<string, unknown> = {
      name: s.name,
      cells: s.cells,
      deps: s.deps,
      ins: s.ins,
      outs: s.outs,
      sources: s.sources,
      settings: s.settings
    };
    const sub = a.subPipelines[s.name];
    if (s.notebook !== undefined) {
      json.notebook = sub
        ? {
            path: sub.path,
            parameters: sub.parameters,
            passed: sub.passed,
            reads: sub.reads,
            provides: sub.provides,
            steps: stepsJson(sub.analysis)
          }
        : { path: s.notebook };
    }
    return json;
  });
}

/** The steps of a pipeline, one paragraph each; a notebook step's sub-pipeline indented below it. */
function stepLines(a: PipelineAnalysis, indent: string): string[] {
  const lines: string[] = [];
  for (const s of a.steps) {
    const cells = s.cells.map(c => c + 1).join(', ');
    const after = s.deps.length > 0 ? `  after ${s.deps.join(', ')}` : '';
    const runs = s.notebook !== undefined ? `  runs ${s.notebook}` : '';
    lines.push(`${indent}${s.name}  (cell${s.cells.length === 1 ? '' : 's'} ${cells})${runs}${after}`);
    if (s.ins.length > 0) {
      lines.push(`${indent}    in:  ${s.ins.map(n => `${n} ← ${s.sources[n]}`).join(', ')}`);
    }
    if (s.outs.length > 0) {
      lines.push(`${indent}    out: ${s.outs.join(', ')}`);
    }
    const sub = a.subPipelines[s.name];
    if (sub) {
      if (sub.passed.length > 0) {
        lines.push(`${indent}    parameters passed down: ${sub.passed.join(', ')}`);
      }
      lines.push(...stepLines(sub.analysis, `${indent}  │ `));
    }
  }
  return lines;
}

export function formatSummary(file: string, a: PipelineAnalysis): string {
  const lines: string[] = [];
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    `${file}: pipeline "${a.pipeline.name}", ${count(a.steps.length, 'step')}, ` +
      `${count(Object.keys(a.parameters).length, 'parameter')}, ${count(a.metrics.length, 'metric')}`
  );
  lines.push('');
  lines.push(...stepLines(a, '  '));
  const params = Object.entries(a.parameters);
  if (params.length > 0) {
    lines.push('', 'parameters:');
    for (const [name, p] of params) {
      lines.push(`  ${name} = ${JSON.stringify(p.value)} (${p.type})`);
    }
  }
  if (a.metrics.length > 0) {
    lines.push('', 'metrics:');
    for (const m of a.metrics) {
      lines.push(`  ${m.name}  (recorded by ${m.step ?? 'no step'})`);
    }
  }
  for (const s of a.suggestions) {
    lines.push('', `suggestion: add prev:${s.from} to step ${s.to} (it reads ${s.names.join(', ')})`);
  }
  lines.push('');
  if (a.diagnostics.length === 0) {
    lines.push('No problems found.');
  } else {
    for (const d of a.diagnostics) {
      lines.push(formatDiagnostic(file, d));
    }
    const errors = a.diagnostics.filter(d => d.severity === 'error').length;
    lines.push('', `${count(errors, 'error')}, ${count(a.diagnostics.length - errors, 'other finding')}.`);
  }
  return lines.join('\n') + '\n';
}

/** `file, cell 3, line 2: error [undefined-name] message` — cells and lines counted from 1. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const place = [file];
  if (d.cell !== null) {
    place.push(`cell ${d.cell + 1}`);
  }
  if (d.line !== null) {
    place.push(`line ${d.line}`);
  }
  return `${place.join(', ')}: ${d.severity} [${d.code}] ${d.message}`;
}
