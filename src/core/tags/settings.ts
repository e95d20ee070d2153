/**
 * Pipeline and step settings from notebook metadata: `metadata.cellpipe`, or
 * Kale's `metadata.kubeflow_notebook` when that is absent. Step settings are
 * merged from, lowest first: Kale's steps_defaults (read whether or not
 * cellpipe wrote its own metadata beside Kale's), the step's settings tags
 * (limit:, annotation:, label:, image:, cache:, report:, secret:), and
 * `metadata.cellpipe.steps.NAME`.
 */
import { Diagnostic, diagnostic } from '../diagnostics';
import type { NotebookData } from '../notebook/model';
import { CellRole, ENV_NAME, isSettingTag, parseCellTags, SECRET_NAME, StepRole } from './grammar';
import { parseQuantity, quantityProblem } from './quantity';

export type Target = 'local' | 'kfp' | 'argo';
export const TARGETS: readonly Target[] = ['local', 'kfp', 'argo'];

export interface ResourceAmount {
  request?: string;
  limit?: string;
}

export interface SecretEnv {
  /** Environment variable set in the step's container. */
  env: string;
  /** Kubernetes Secret name and key; the value is never read by cellpipe. */
  secret: string;
  key: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface StepSettings {
  cpu?: ResourceAmount;
  memory?: ResourceAmount;
  gpu?: { count: number; vendor: 'nvidia' | 'amd' };
  image?: string;
  env?: Record<string, string>;
  secrets?: SecretEnv[];
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  retries?: number;
  /** Seconds. */
  timeout?: number;
  caching?: boolean;
  /** The step's outputs as an HTML report where the target has one (KFP); default true. */
  report?: boolean;
  /** Other resource limits (limit:KEY:VALUE tags that are not cpu, memory or a GPU). */
  limits?: Record<string, string>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface VolumeSettings {
  name: string;
  mountPath: string;
  /** `pvc`: mount an existing claim; `snapshot`: mount a restore of its snapshot. */
  type: 'pvc' | 'snapshot';
}

export interface PipelineSettings {
  name: string;
  description: string;
  /** Default step image; empty: the notebook's own image when known. */
  image: string;
  target: Target;
  endpoint: string;
  namespace: string;
  volumes: VolumeSettings[];
  /** Snapshot the workspace volumes before a cluster run. */
  snapshot: boolean;
  caching: boolean;
  /** Settings every step starts from (Kale's steps_defaults). */
  stepDefaults: StepSettings;
  steps: Record<string, StepSettings>;
  /** Where the settings came from. */
  source: 'cellpipe' | 'kale' | 'default';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

/** A DNS-1123 name from a notebook file name: lowercase, `-` for anything else. */
export function defaultPipelineName(notebookName: string | undefined): string {
  const base = (notebookName ?? 'pipeline').replace(/\.ipynb$/, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return name || 'pipeline';
}

export function readPipelineSettings(
  nb: NotebookData,
  notebookName?: string
): { settings: PipelineSettings; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const settings: PipelineSettings = {
    name: defaultPipelineName(notebookName),
    description: '',
    image: '',
    target: 'local',
    endpoint: '',
    namespace: '',
    volumes: [],
    snapshot: false,
    caching: true,
    stepDefaults: {},
    steps: {},
    source: 'default'
  };
  const invalid = (field: string, why: string) =>
    diagnostics.push(diagnostic('error', 'invalid-setting', `Pipeline setting ${field}: ${why}.`));

  const own = nb.metadata.cellpipe;
  const kale = nb.metadata.kubeflow_notebook;
  if (isRecord(own)) {
    settings.source = 'cellpipe';
    settings.name = str(own.name, settings.name) || settings.name;
    settings.description = str(own.description);
    settings.image = str(own.image);
    settings.endpoint = str(own.endpoint);
    settings.namespace = str(own.namespace);
    if (own.target !== undefined) {
      if (TARGETS.includes(own.target as Target)) {
        settings.target = own.target as Target;
      } else {
        invalid('target', `"${String(own.target)}" is not one of ${TARGETS.join(', ')}`);
      }
    }
    settings.snapshot = own.snapshot === true;
    settings.caching = own.caching !== false;
    if (Array.isArray(own.volumes)) {
      for (const v of own.volumes) {
        if (isRecord(v) && typeof v.name === 'string' && typeof v.mountPath === 'string') {
          settings.volumes.push({
            name: v.name,
            mountPath: v.mountPath,
            type: v.type === 'snapshot' ? 'snapshot' : 'pvc'
          });
        } else {
          invalid('volumes', 'each volume needs a name and a mountPath');
        }
      }
    }
    if (isRecord(own.steps)) {
      for (const [name, value] of Object.entries(own.steps)) {
        if (isRecord(value)) {
          settings.steps[name] = value as StepSettings;
        } else {
          invalid(`steps.${name}`, 'expected an object of step settings');
        }
      }
    }
  } else if (isRecord(kale)) {
    settings.source = 'kale';
    settings.name = str(kale.pipeline_name, settings.name) || settings.name;
    settings.description = str(kale.pipeline_description);
    settings.image = str(kale.base_image) || str(kale.docker_image);
    settings.snapshot = kale.snapshot_volumes === true;
    settings.caching = kale.enable_caching !== false;
    if (Array.isArray(kale.volumes)) {
      for (const v of kale.volumes) {
        if (isRecord(v) && typeof v.mount_point === 'string') {
          settings.volumes.push({
            name: str(v.name),
            mountPath: v.mount_point,
            type: v.type === 'clone' || v.snapshot === true ? 'snapshot' : 'pvc'
          });
        }
      }
    }
  }
  if (isRecord(kale) && Array.isArray(kale.steps_defaults)) {
    const defaults = readStepsDefaults(kale.steps_defaults);
    settings.stepDefaults = defaults.settings;
    diagnostics.push(...defaults.diagnostics);
  }
  return { settings, diagnostics };
}

/**
 * Kale's `steps_defaults`: settings tags every step starts from. Problems are
 * notebook-level diagnostics that say where the tag is.
 */
function readStepsDefaults(list: unknown[]): { settings: StepSettings; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const tags: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') {
      diagnostics.push(
        diagnostic(
          'error',
          'invalid-setting',
          `Kale steps_defaults: ${JSON.stringify(item)} is not a tag; write tags such as "limit:memory:4Gi".`
        )
      );
    } else if (!isSettingTag(item)) {
      diagnostics.push(
        diagnostic(
          'warning',
          'ignored-tags',
          `Kale steps_defaults: "${item}" is not a step setting (limit:, annotation:, label:, image:, cache:, ` +
            `report:, secret:) and is ignored.`
        )
      );
    } else {
      tags.push(item);
    }
  }
  // steps_defaults are tag strings: read them as the tags of a step.
  const parsed = parseCellTags(['step:defaults', ...tags], -1);
  for (const d of parsed.diagnostics) {
    diagnostics.push({ ...d, cell: null, message: `Kale steps_defaults: ${d.message}` });
  }
  return { settings: parsed.role.kind === 'step' ? tagSettings(parsed.role) : {}, diagnostics };
}

/** What a step's settings tags say. */
function tagSettings(role: StepRole): StepSettings {
  const s: StepSettings = {};
  for (const [key, value] of Object.entries(role.limits)) {
    if (key === 'cpu' || key === 'memory') {
      s[key] = { ...s[key], limit: value };
    } else if (key === 'nvidia.com/gpu' || key === 'amd.com/gpu') {
      s.gpu = { count: Number(value), vendor: key.startsWith('nvidia') ? 'nvidia' : 'amd' };
    } else {
      s.limits = { ...s.limits, [key]: value };
    }
  }
  if (Object.keys(role.annotations).length > 0) {
    s.annotations = { ...role.annotations };
  }
  if (Object.keys(role.labels).length > 0) {
    s.labels = { ...role.labels };
  }
  if (role.image !== undefined) {
    s.image = role.image;
  }
  if (role.cache !== undefined) {
    s.caching = role.cache;
  }
  if (role.report !== undefined) {
    s.report = role.report;
  }
  if (role.secrets && role.secrets.length > 0) {
    s.secrets = role.secrets.map(r => ({ ...r }));
  }
  return s;
}

function merge(base: StepSettings, over: StepSettings): StepSettings {
  const out: StepSettings = { ...base, ...over };
  for (const key of ['cpu', 'memory'] as const) {
    if (base[key] || over[key]) {
      out[key] = { ...base[key], ...over[key] };
    }
  }
  for (const key of ['env', 'nodeSelector', 'limits', 'annotations', 'labels'] as const) {
    if (base[key] || over[key]) {
      out[key] = { ...base[key], ...over[key] };
    }
  }
  if (base.secrets && over.secrets) {
    // One variable, one secret: the higher layer's reference wins.
    const envs = new Set(over.secrets.map(r => r.env));
    out.secrets = [...base.secrets.filter(r => !envs.has(r.env)), ...over.secrets];
  }
  return out;
}

export function resolveStepSettings(
  pipeline: PipelineSettings,
  step: string,
  roles: ReadonlyMap<number, CellRole>,
  cells: readonly number[]
): { settings: StepSettings; diagnostics: Diagnostic[] } {
  let settings = pipeline.stepDefaults;
  for (const cell of cells) {
    const role = roles.get(cell);
    if (role?.kind === 'step') {
      settings = merge(settings, tagSettings(role));
    }
  }
  settings = merge(settings, pipeline.steps[step] ?? {});
  if (settings.caching === undefined && !pipeline.caching) {
    settings.caching = false;
  }
  return { settings, diagnostics: validateStepSettings(step, settings, cells[0] ?? null) };
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Field-by-field problems, each a message that names the step and the field. */
export function stepSettingProblems(s: StepSettings): Array<{ field: string; problem: string }> {
  const problems: Array<{ field: string; problem: string }> = [];
  const add = (field: string, problem: string) => problems.push({ field, problem });
  for (const key of ['cpu', 'memory'] as const) {
    const amount = s[key];
    for (const kind of ['request', 'limit'] as const) {
      const value = amount?.[kind];
      if (value !== undefined) {
        const why =
          typeof value === 'string'
            ? quantityProblem(value, key)
            : `expected a string such as "${key === 'cpu' ? '500m' : '2Gi'}"`;
        if (why) {
          add(`${key}.${kind}`, why);
        }
      }
    }
    if (amount?.request && amount.limit) {
      const request = parseQuantity(amount.request);
      const limit = parseQuantity(amount.limit);
      if (request !== null && limit !== null && request > limit) {
        add(`${key}.request`, `the request ${amount.request} is above the limit ${amount.limit}`);
      }
    }
  }
  if (s.gpu && (!Number.isInteger(s.gpu.count) || s.gpu.count < 0)) {
    add('gpu.count', `"${String(s.gpu.count)}" is not a whole number of GPUs`);
  }
  for (const name of Object.keys(s.env ?? {})) {
    if (!ENV_NAME.test(name)) {
      add('env', `"${name}" is not a valid environment variable name`);
    }
  }
  for (const secret of s.secrets ?? []) {
    if (!ENV_NAME.test(secret.env ?? '')) {
      add('secrets', `"${secret.env}" is not a valid environment variable name`);
    }
    if (!SECRET_NAME.test(secret.secret ?? '') || !secret.key) {
      add('secrets', `a secret needs a Kubernetes Secret name (lowercase, digits, - and .) and a key`);
    }
  }
  for (const [key, value] of Object.entries({ ...s.nodeSelector, ...s.labels })) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      add(
        'labels',
        `"${key}: ${String(value)}" is not a valid Kubernetes label value (63 characters of letters, digits, -, _ and .)`
      );
    }
  }
  if (s.retries !== undefined && (!Number.isInteger(s.retries) || s.retries < 0)) {
    add('retries', `"${String(s.retries)}" is not a whole number of retries (0 or more)`);
  }
  if (s.timeout !== undefined && !(typeof s.timeout === 'number' && s.timeout > 0)) {
    add('timeout', `"${String(s.timeout)}" is not a positive number of seconds`);
  }
  return problems;
}

function validateStepSettings(step: string, s: StepSettings, cell: number | null): Diagnostic[] {
  return stepSettingProblems(s).map(({ field, problem }) =>
    diagnostic('error', 'invalid-setting', `Step ${step}, ${field}: ${problem}.`, { cell, step })
  );
}
