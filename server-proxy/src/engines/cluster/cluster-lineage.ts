/**
 * The lineage of a cluster run (`src/core/runs/lineage.ts`), as known when it is submitted: each step's
 * program hash, the parameter values it reads, where each input comes from, the image it runs on (by
 * digest when the image is pinned, as the notebook pod's is), and the VolumeSnapshots of the workspace.
 */
import { createHash } from 'crypto';
import type { RunLineage } from '../../../../src/core/runs/lineage';
import type { RecordedSnapshot } from '../../../../src/core/runs/run-record';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import type { PlannedStep } from '../../../../src/core/targets/cluster-plan';

export function clusterLineage(
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
        const program = Buffer.from(s.program, 'base64');
        return [
          r.name,
          {
            program: `sha256:${createHash('sha256').update(program).digest('hex')}`,
            parameters: { ...r.parameters, ...passed },
            inputs: Object.fromEntries(
              Object.entries(r.sources).map(([name, from]) => [name, { step: from, run: runId }])
            ),
            image: s.image
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
