/**
 * The lineage of a cluster run (`src/core/runs/lineage.ts`), as known when it is submitted: each step's
 * program hash, the parameter values it reads, where each input comes from, the image it runs on (by
 * digest when the image is pinned, as the notebook pod's is), and the VolumeSnapshots of the workspace.
 * The follow loop adds the rest as steps finish: the hashes of what each saved (and so its readers'
 * input hashes) and the digest its pod ran a tag-only image at.
 */
import { createHash } from 'crypto';
import { inflateSync } from 'zlib';
import { RunLineage, stepNotebook } from '../../../../src/core/runs/lineage';
import type { RecordedSnapshot } from '../../../../src/core/runs/run-record';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import type { PlannedStep } from '../../../../src/core/targets/cluster-plan';

export function clusterLineage(
  /** The run's notebook, as the analysis names it. */
  runPath: string,
  steps: readonly PlannedStep[],
  parameters: Record<string, ParameterValue>,
  runId: string,
  snapshots: readonly RecordedSnapshot[]
): RunLineage {
  return {
    steps: Object.fromEntries(
      steps.map(s => {
        const r = s.runnable;
        const passed = Object.fromEntries(
          r.runParameters.filter(n => parameters[n]).map(n => [n, parameters[n]])
        );
        const program = programText(s);
        return [
          r.name,
          {
            program: `sha256:${createHash('sha256').update(program).digest('hex')}`,
            parameters: { ...r.parameters, ...passed },
            inputs: Object.fromEntries(
              Object.entries(r.sources).map(([name, from]) => [name, { step: from, run: runId }])
            ),
            image: s.image,
            ...stepNotebook(runPath, r)
          }
        ];
      })
    ),
    workspace: {
      snapshots: snapshots.map(s => ({ claim: s.claim, ...(s.snapshot ? { snapshot: s.snapshot } : {}) }))
    },
    environment: {}
  };
}

/**
 * A planned step's program as the container runs it (the plan holds it zlib-compressed, then base64): the
 * same text as a local run's program, so the two hash alike and `cellpipe diff` compares them.
 */
export function programText(step: Pick<PlannedStep, 'program'>): Buffer {
  return inflateSync(Buffer.from(step.program, 'base64'));
}
