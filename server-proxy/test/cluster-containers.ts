/**
 * A compiled step's container, run here as its pod would run it, with the project's Python: what a real
 * cluster's steps leave (their data on the run volume or as artifacts, their log) for the loopback
 * cluster to hand back. Same notebook, same programs: the fake cluster then answers with real values.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { ArgoContainerTemplate, ArgoWorkflow } from '../../src/core/targets/argo-workflow';
import type { KfpPipelineSpec } from '../../src/core/targets/kfp-spec';

const VENV = join(__dirname, '..', '..', '.venv', 'bin', 'python');
export const PYTHON = existsSync(VENV) ? VENV : 'python3';

export interface ContainerRun {
  status: number | null;
  /** stdout and stderr, as the container's log has them. */
  log: string;
}

function run(command: string[], args: string[]): ContainerRun {
  const done = spawnSync(PYTHON, [...command.slice(1), ...args], { encoding: 'utf8' });
  return { status: done.status, log: done.stdout + done.stderr };
}

/** An Argo step template's container: the run volume (/cellpipe/run) is `volume`, /tmp/cellpipe/ its own. */
export function runArgoStep(
  workflow: Pick<ArgoWorkflow, 'spec'>,
  task: string,
  volume: string
): ContainerRun {
  const template = workflow.spec.templates.find(t => t.name === task) as ArgoContainerTemplate;
  const parameters = Object.fromEntries(
    (workflow.spec.arguments?.parameters ?? []).map(p => [p.name, p.value])
  );
  const pod = mkdtempSync(join(tmpdir(), `cellpipe-pod-${task}-`));
  const args = template.container.args.map(a =>
    a
      .replace(/\{\{workflow\.parameters\.(\w+)\}\}/g, (_, k: string) => parameters[k])
      .replace(/^\/cellpipe\/run/, volume)
      .replace(/^\/tmp\/cellpipe\//, `${pod}/`)
  );
  return run(template.container.command, args);
}

/**
 * A KFP task's executor as KFP's launcher runs it: each output artifact a folder `outputs/KEY`, each input
 * artifact the folder `inputs[KEY]`, parameters from the run's values (else the pipeline's defaults).
 */
export function runKfpStep(
  spec: KfpPipelineSpec,
  task: string,
  parameters: Record<string, unknown>,
  outputs: string,
  inputs: Record<string, string> = {}
): ContainerRun {
  const component = spec.components[spec.root.dag.tasks[task].componentRef.name];
  const container = spec.deploymentSpec.executors[component.executorLabel!].container;
  const defaults = spec.root.inputDefinitions?.parameters ?? {};
  const value = (k: string) =>
    String(parameters[k] ?? (defaults[k] as { defaultValue?: unknown }).defaultValue);
  const args = (container.args ?? []).map(a =>
    a
      .replace(/\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}/g, (_, k: string) => value(k))
      .replace(/\{\{\$\.outputs\.artifacts\['(\w+)'\]\.path\}\}/g, (_, k: string) => join(outputs, k))
      .replace(/\{\{\$\.inputs\.artifacts\['(\w+)'\]\.path\}\}/g, (_, k: string) => inputs[k])
      .replace(/^\{\{\$\}\}$/, '{}')
      .replace(/^\/tmp\/cellpipe\//, `${outputs}/tmp/`)
  );
  return run(container.command ?? [], args);
}
