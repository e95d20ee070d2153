/** A real analysis whose step, parameter and variable names are replaced by hostile text. */
import type { PipelineAnalysis } from '../../pipeline';

export const HOSTILE_STEP = 'st"ep\'; $(rm -rf /) `id` {{inputs.parameters.x}}';
export const HOSTILE_STEP_2 = 'ST"EP\'; $(RM -RF /) `ID` {{INPUTS.PARAMETERS.X}}';
export const HOSTILE_PARAM = 'ra\'te"]}} {{workflow.name}} $(touch /tmp/pwned)';
export const HOSTILE_VAR = "da\\ta']}}{{$.inputs.parameters['x']}} ${HOME}";

/** Renames names in an analysis (steps, parameters, variables, metrics) through `map`. */
export function renamed(a: PipelineAnalysis, map: Record<string, string>): PipelineAnalysis {
  const r = (n: string) => map[n] ?? n;
  const rk = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [r(k), v]));
  return {
    ...a,
    steps: a.steps.map(s => ({
      ...s,
      name: r(s.name),
      deps: s.deps.map(r),
      ins: s.ins.map(r),
      outs: s.outs.map(r),
      parameters: s.parameters.map(r),
      sources: Object.fromEntries(Object.entries(s.sources).map(([k, v]) => [r(k), r(v)]))
    })),
    order: a.order.map(r),
    parameters: rk(a.parameters),
    metrics: a.metrics.map(m => ({ ...m, name: r(m.name), step: m.step === null ? null : r(m.step) }))
  };
}
