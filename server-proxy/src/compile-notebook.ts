/**
 * A notebook's cluster YAML, as `cellpipe compile` writes it and the server's compile and KFP upload
 * routes return it: the core's KFP or Argo compiler with the runtime and this build's version.
 */
import type { NotebookData } from '../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../src/core/pipeline';
import { compileArgo } from '../../src/core/targets/argo';
import type { ClusterCompileOptions } from '../../src/core/targets/cluster-plan';
import { compileKfp } from '../../src/core/targets/kfp';
import { defaultPipelineName } from '../../src/core/tags/settings';
import { runtimeSource } from './runtime-source';

declare const CELLPIPE_VERSION: string | undefined;

export type CompileOptions = Omit<ClusterCompileOptions, 'runtimeSource' | 'cellpipeVersion'>;

/** Throws the core's CompileError when the pipeline cannot be compiled (error diagnostics, no steps…). */
export function compileNotebook(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  target: 'kfp' | 'argo',
  options: CompileOptions = {}
): { text: string; warnings: string[]; filename: string } {
  const compile = target === 'kfp' ? compileKfp : compileArgo;
  const result = compile(analysis, notebook, runtimeSource(), {
    ...options,
    cellpipeVersion: typeof CELLPIPE_VERSION === 'string' ? CELLPIPE_VERSION : 'dev'
  });
  const name = defaultPipelineName(analysis.pipeline.name);
  return { ...result, filename: `${name}.${target}.yaml` };
}
