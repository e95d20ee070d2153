/**
 * `cellpipe compile NOTEBOOK --target kfp|argo [-o FILE]`: the pipeline as a
 * KFP v2 pipeline file (IR plus the kfp-kubernetes platform document) or an
 * Argo Workflow. Nothing is submitted.
 *
 * Exit status: 0 written, 1 the notebook has error diagnostics or a setting
 * the target cannot express (nothing is written), 2 unusable input.
 */
import { basename } from 'path';
import { analyzeNotebook } from '../../../src/core/pipeline';
import { runRefusal } from '../../../src/core/runs/refusal';
import type { SnapshotSource } from '../../../src/core/targets/cluster-plan';
import { CompileError } from '../../../src/core/targets/cluster-step';
import { writeFileAtomic } from '../atomic-file';
import { compileNotebook, CompileOptions } from '../compile-notebook';
import { analysisOptions, loadNotebookFile } from '../notebook-file';
import { nodeAnalyser } from '../node-analyser';
import { runtimeSha256 } from '../runtime-source';
import { reportRefusal, UsageError } from './pipeline-input';

export interface CompileCliOptions {
  target?: string;
  output?: string;
  image?: string;
  runtimeImage?: string;
  snapshot: string[];
  runStorageClass?: string;
  runVolumeSize?: string;
  workingDir?: string;
}

/** `VOLUME=SNAPSHOT[:SIZE[:STORAGECLASS]]` */
export function parseSnapshotOption(text: string): [string, SnapshotSource] {
  const match = /^([^=]+)=([^:]+)(?::([^:]+))?(?::([^:]+))?$/.exec(text);
  if (!match) {
    throw new UsageError(`--snapshot ${text}: expected VOLUME=SNAPSHOT[:SIZE[:STORAGECLASS]]`);
  }
  const [, volume, snapshot, size, storageClass] = match;
  return [volume, { snapshot, size: size ?? '10Gi', ...(storageClass ? { storageClass } : {}) }];
}

export async function compileCommand(
  path: string,
  options: CompileCliOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream
): Promise<number> {
  const file = basename(path);
  const notebook = await loadNotebookFile(path);
  const analysis = analyzeNotebook(notebook, await nodeAnalyser(), await analysisOptions(path, notebook));
  const target = options.target ?? analysis.pipeline.target;
  if (target !== 'kfp' && target !== 'argo') {
    throw new UsageError(`${path}: say which cluster to compile for: --target kfp or --target argo`);
  }
  const refused = runRefusal(analysis, { file });
  if (refused) {
    const count = refused.errors.length;
    reportRefusal(
      path,
      refused,
      err,
      `${file}: not compiled: fix the ${count === 1 ? 'error' : 'errors'} above first.`
    );
    return 1;
  }
  const compileOptions: CompileOptions = {
    defaultImage: options.image,
    ...(options.runtimeImage
      ? { runtimeImage: { image: options.runtimeImage, sha256: runtimeSha256() } }
      : {}),
    snapshots: Object.fromEntries(options.snapshot.map(parseSnapshotOption)),
    workingDir: options.workingDir,
    runVolume: { storageClass: options.runStorageClass, size: options.runVolumeSize }
  };
  let result;
  try {
    result = compileNotebook(analysis, notebook, target, compileOptions);
  } catch (e) {
    if (e instanceof CompileError) {
      err.write(`${file}: not compiled: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  for (const warning of result.warnings) {
    err.write(`${file}: warning: ${warning}\n`);
  }
  if (!options.output || options.output === '-') {
    out.write(result.text);
  } else {
    await writeFileAtomic(options.output, result.text);
    err.write(`${file}: wrote ${options.output} (${target}, ${analysis.steps.length} steps)\n`);
  }
  return 0;
}
