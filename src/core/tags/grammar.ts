/**
 * The cell tag grammar: Kale's vocabulary in `cell.metadata.tags` (Kale 1.x and
 * 2.x: `step:`, `prev:`, `limit:`, `annotation:`, `label:`, `image:`, `cache:`,
 * `report:`, `secret:`, `notebook:` and the special tags), parsed into a role
 * and printed back. Printing merges: tags that are not part of the vocabulary
 * (the user's own) stay where they were.
 */
import { Diagnostic, diagnostic } from '../diagnostics';

export type SpecialKind = 'skip' | 'imports' | 'functions' | 'pipeline-parameters' | 'pipeline-metrics';

/** `secret:NAME:KEY:ENV`: the key of a Kubernetes Secret as an environment variable of the step. */
export interface SecretTag {
  secret: string;
  key: string;
  env: string;
}

export interface StepRole {
  kind: 'step';
  name: string;
  prev: string[];
  limits: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** `image:IMAGE` (Kale 2.x): the step's container image. */
  image?: string;
  /** `cache:enabled|disabled` (Kale 2.x). */
  cache?: boolean;
  /** `report:enabled|disabled` (Kale 2.x): the step's HTML report of its outputs. */
  report?: boolean;
  secrets?: SecretTag[];
}

/**
 * `notebook:NAME` (Kale 2.x): the step runs another notebook's pipeline, whose
 * path is the cell's metadata `notebook_path`. An empty name takes the
 * notebook's file name.
 */
export interface NotebookRole {
  kind: 'notebook';
  name: string;
  prev: string[];
}

export type CellRole = StepRole | NotebookRole | { kind: 'continue' } | { kind: SpecialKind };

export const SPECIAL_TAGS: readonly SpecialKind[] = [
  'skip',
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics'
];

/** Kale's step name rule, kept so that notebooks stay readable by Kale. */
export const STEP_NAME = /^[_a-z][_a-z0-9]*$/;
const K8S_SEGMENT = '[a-zA-Z0-9]+([a-zA-Z0-9-_.]*[a-zA-Z0-9])?';
const K8S_KEY = new RegExp(`^${K8S_SEGMENT}(/${K8S_SEGMENT})?$`);
const LIMIT_KEY = /^[_a-z\-./]+$/;
const LIMIT_VALUE = /^[_a-zA-Z0-9.]+$/;
/** An image reference: no whitespace (Kale accepts any text; a space can only be a mistake). */
const IMAGE = /^\S+$/;
export const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Kubernetes Secret data keys. */
export const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const PREFIXES = [
  'step:',
  'block:',
  'prev:',
  'limit:',
  'annotation:',
  'label:',
  'image:',
  'cache:',
  'report:',
  'secret:',
  'notebook:'
] as const;

/** The tags that set a step's settings: they apply to steps (and to Kale's steps_defaults). */
const SETTING_PREFIXES = ['limit', 'annotation', 'label', 'image', 'cache', 'report', 'secret'];

/** Whether a tag sets a step's settings (the tags Kale's steps_defaults may hold). */
export function isSettingTag(tag: string): boolean {
  const colon = tag.indexOf(':');
  return colon > 0 && SETTING_PREFIXES.includes(tag.slice(0, colon));
}

/** Whether a tag belongs to the pipeline vocabulary (and is therefore rewritten on edits). */
export function isPipelineTag(tag: string): boolean {
  return (SPECIAL_TAGS as readonly string[]).includes(tag) || PREFIXES.some(p => tag.startsWith(p));
}

function splitKeyValue(rest: string): [string, string] | null {
  const colon = rest.indexOf(':');
  return colon <= 0 ? null : [rest.slice(0, colon), rest.slice(colon + 1)];
}

export function parseCellTags(
  tags: readonly string[],
  cell: number
): { role: CellRole; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (code: string, message: string) =>
    diagnostics.push(diagnostic('error', code, message, { cell }));
  const ignored = (which: readonly string[], why: string) =>
    diagnostics.push(
      diagnostic('warning', 'ignored-tags', `The tags ${which.join(', ')} are ignored because ${why}.`, {
        cell
      })
    );

  const specials = tags.filter((t): t is SpecialKind => (SPECIAL_TAGS as readonly string[]).includes(t));
  const vocabulary = tags.filter(t => PREFIXES.some(p => t.startsWith(p)));
  if (specials.length > 0) {
    // As in Kale, a special tag decides the cell's role.
    const [kind, ...others] = [...new Set(specials)];
    if (others.length > 0) {
      error(
        'conflicting-tags',
        `The cell has the tags ${[kind, ...others].join(', ')}; a cell can have only one role.`
      );
    }
    if (vocabulary.length > 0) {
      ignored(vocabulary, `the cell is tagged ${kind}`);
    }
    return { role: { kind }, diagnostics };
  }

  const names: string[] = [];
  const notebooks: string[] = [];
  const role: StepRole = { kind: 'step', name: '', prev: [], limits: {}, annotations: {}, labels: {} };
  let hasStepTag = false;
  let hasNotebookTag = false;
  const settingTags: string[] = [];
  /** image:, cache: and report: take one value per cell. */
  const single = <K extends 'image' | 'cache' | 'report'>(key: K, value: StepRole[K], tag: string) => {
    if (role[key] !== undefined && role[key] !== value) {
      error('conflicting-tags', `"${tag}": the cell already has another ${key}: tag; keep one.`);
    } else {
      role[key] = value;
    }
  };
  for (const tag of vocabulary) {
    const colon = tag.indexOf(':');
    const prefix = tag.slice(0, colon);
    const rest = tag.slice(colon + 1);
    if (SETTING_PREFIXES.includes(prefix)) {
      settingTags.push(tag);
    }
    switch (prefix) {
      case 'step':
      case 'block':
        hasStepTag = true;
        if (rest === '') {
          break; // an empty name joins the step above, as in Kale
        }
        if (!STEP_NAME.test(rest)) {
          error(
            'invalid-step-name',
            `"${tag}": a step name starts with a lowercase letter or _ and has only lowercase letters, digits and _.`
          );
        } else if (!names.includes(rest)) {
          names.push(rest);
        }
        break;
      case 'notebook':
        hasNotebookTag = true;
        if (rest !== '' && !STEP_NAME.test(rest)) {
          error(
            'invalid-step-name',
            `"${tag}": a notebook step's name starts with a lowercase letter or _ and has only lowercase ` +
              `letters, digits and _ (or leave it empty to use the notebook's file name).`
          );
        } else if (!notebooks.includes(rest)) {
          notebooks.push(rest);
        }
        break;
      case 'prev':
        if (!STEP_NAME.test(rest)) {
          error('invalid-tag', `"${tag}": prev: takes the name of a step (lowercase letters, digits and _).`);
        } else if (!role.prev.includes(rest)) {
          role.prev.push(rest);
        }
        break;
      case 'limit': {
        const kv = splitKeyValue(rest);
        if (!kv || !LIMIT_KEY.test(kv[0]) || !LIMIT_VALUE.test(kv[1])) {
          error(
            'invalid-tag',
            `"${tag}": write limit:RESOURCE:AMOUNT, e.g. limit:nvidia.com/gpu:1 or limit:memory:4Gi.`
          );
        } else {
          role.limits[kv[0]] = kv[1];
        }
        break;
      }
      case 'image':
        if (!IMAGE.test(rest)) {
          error('invalid-tag', `"${tag}": write image:IMAGE, e.g. image:python:3.12-slim (no spaces).`);
        } else {
          single('image', rest, tag);
        }
        break;
      case 'cache':
      case 'report':
        if (rest !== 'enabled' && rest !== 'disabled') {
          error('invalid-tag', `"${tag}": write ${prefix}:enabled or ${prefix}:disabled.`);
        } else {
          single(prefix, rest === 'enabled', tag);
        }
        break;
      case 'secret': {
        const parts = rest.split(':');
        if (
          parts.length !== 3 ||
          !SECRET_NAME.test(parts[0]) ||
          !SECRET_KEY.test(parts[1]) ||
          !ENV_NAME.test(parts[2])
        ) {
          error(
            'invalid-tag',
            `"${tag}": write secret:SECRET:KEY:ENV_VAR, e.g. secret:db-credentials:password:DB_PASSWORD ` +
              `(a Kubernetes Secret name, one of its keys, an environment variable name).`
          );
        } else {
          const [secret, key, env] = parts;
          const same = (role.secrets ?? []).find(s => s.env === env);
          if (!same) {
            role.secrets = [...(role.secrets ?? []), { secret, key, env }];
          } else if (same.secret !== secret || same.key !== key) {
            error('conflicting-tags', `"${tag}": the cell already sets the environment variable ${env}.`);
          }
        }
        break;
      }
      default: {
        const kv = splitKeyValue(rest);
        const target = prefix === 'label' ? role.labels : role.annotations;
        if (!kv || !K8S_KEY.test(kv[0])) {
          error(
            'invalid-tag',
            `"${tag}": write ${prefix}:KEY:VALUE with a Kubernetes key such as example.com/team.`
          );
        } else {
          target[kv[0]] = kv[1];
        }
      }
    }
  }
  if (hasNotebookTag) {
    if (names.length > 0) {
      error(
        'conflicting-tags',
        `The cell is tagged both step:${names[0]} and notebook:; a cell is a step or runs a notebook, not both.`
      );
    }
    if (notebooks.length > 1) {
      error(
        'two-step-names',
        `The cell is tagged with two notebook steps (${notebooks.join(', ')}); keep one.`
      );
    }
    if (settingTags.length > 0) {
      ignored(settingTags, "a notebook: step's settings are those of the referenced notebook's steps");
    }
    return { role: { kind: 'notebook', name: notebooks[0] ?? '', prev: role.prev }, diagnostics };
  }
  if (names.length > 1) {
    error('two-step-names', `The cell is tagged with two steps (${names.join(', ')}); keep one.`);
  }
  if (names.length > 0) {
    role.name = names[0];
    return { role, diagnostics };
  }
  if (role.prev.length + settingTags.length > 0) {
    error(
      hasStepTag ? 'settings-without-step' : 'prev-without-step',
      `The cell has ${vocabulary.filter(t => !t.startsWith('step:') && !t.startsWith('block:')).join(', ')} ` +
        `but no step:NAME tag; add one so the tags apply to a step.`
    );
  }
  return { role: { kind: 'continue' }, diagnostics };
}

/** The vocabulary tags for a role, in a fixed order. */
export function roleTags(role: CellRole): string[] {
  switch (role.kind) {
    case 'continue':
      return [];
    case 'step':
      return [
        `step:${role.name}`,
        ...role.prev.map(p => `prev:${p}`),
        ...Object.entries(role.limits).map(([k, v]) => `limit:${k}:${v}`),
        ...Object.entries(role.annotations).map(([k, v]) => `annotation:${k}:${v}`),
        ...Object.entries(role.labels).map(([k, v]) => `label:${k}:${v}`),
        ...(role.image !== undefined ? [`image:${role.image}`] : []),
        ...(role.cache !== undefined ? [`cache:${role.cache ? 'enabled' : 'disabled'}`] : []),
        ...(role.report !== undefined ? [`report:${role.report ? 'enabled' : 'disabled'}`] : []),
        ...(role.secrets ?? []).map(s => `secret:${s.secret}:${s.key}:${s.env}`)
      ];
    case 'notebook':
      return [`notebook:${role.name}`, ...role.prev.map(p => `prev:${p}`)];
    default:
      return [role.kind];
  }
}

/**
 * The cell's new tag list for a role: the user's own tags keep their places;
 * the vocabulary tags are replaced, at the place of the first one.
 */
export function printCellTags(existing: readonly string[], role: CellRole): string[] {
  const first = existing.findIndex(isPipelineTag);
  const kept = existing.filter(t => !isPipelineTag(t));
  const at = first < 0 ? 0 : existing.slice(0, first).filter(t => !isPipelineTag(t)).length;
  return [...kept.slice(0, at), ...roleTags(role), ...kept.slice(at)];
}
