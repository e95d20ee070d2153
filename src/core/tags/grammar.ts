/**
 * The cell tag grammar: Kale's vocabulary in `cell.metadata.tags`, parsed into
 * a role and printed back. Printing merges: tags that are not part of the
 * vocabulary (the user's own) stay where they were.
 */
import { Diagnostic, diagnostic } from '../diagnostics';

export type SpecialKind = 'skip' | 'imports' | 'functions' | 'pipeline-parameters' | 'pipeline-metrics';

export interface StepRole {
  kind: 'step';
  name: string;
  prev: string[];
  limits: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export type CellRole = StepRole | { kind: 'continue' } | { kind: SpecialKind };

export const SPECIAL_TAGS: readonly SpecialKind[] = [
  'skip',
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics'
];

/** Kale's step name rule, kept so that notebooks stay readable by Kale. */
export const STEP_NAME = /^[_a-z][_a-z0-9]*$/;
/**
 * At most this many characters: a step's name names its files in a run folder (file names are at most
 * 255 bytes, with room for the suffixes and temporary names around it) and, on a cluster, its task.
 */
export const MAX_STEP_NAME_LENGTH = 63;

/** What is wrong with a step name, or null when it is one (the sidebar shows the same words inline). */
export function stepNameProblem(name: string): string | null {
  if (!STEP_NAME.test(name)) {
    return 'a step name starts with a lowercase letter or _ and has only lowercase letters, digits and _';
  }
  if (name.length > MAX_STEP_NAME_LENGTH) {
    return `a step name has at most ${MAX_STEP_NAME_LENGTH} characters (this one has ${name.length})`;
  }
  return null;
}

/** A tag as a message shows it: long ones are cut. */
function shown(tag: string): string {
  return tag.length > 80 ? `${tag.slice(0, 77)}...` : tag;
}
const K8S_SEGMENT = '[a-zA-Z0-9]+([a-zA-Z0-9-_.]*[a-zA-Z0-9])?';
const K8S_KEY = new RegExp(`^${K8S_SEGMENT}(/${K8S_SEGMENT})?$`);
const LIMIT_KEY = /^[_a-z\-./]+$/;
const LIMIT_VALUE = /^[_a-zA-Z0-9.]+$/;

const PREFIXES = ['step:', 'block:', 'prev:', 'limit:', 'annotation:', 'label:'] as const;

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
      diagnostics.push(
        diagnostic(
          'warning',
          'ignored-tags',
          `The tags ${vocabulary.join(', ')} are ignored because the cell is tagged ${kind}.`,
          { cell }
        )
      );
    }
    return { role: { kind }, diagnostics };
  }

  const names: string[] = [];
  const role: StepRole = { kind: 'step', name: '', prev: [], limits: {}, annotations: {}, labels: {} };
  let hasStepTag = false;
  for (const tag of vocabulary) {
    const colon = tag.indexOf(':');
    const prefix = tag.slice(0, colon);
    const rest = tag.slice(colon + 1);
    switch (prefix) {
      case 'step':
      case 'block':
        hasStepTag = true;
        if (rest === '') {
          break; // an empty name joins the step above, as in Kale
        }
        if (stepNameProblem(rest)) {
          error('invalid-step-name', `"${shown(tag)}": ${stepNameProblem(rest)}.`);
        } else if (!names.includes(rest)) {
          names.push(rest);
        }
        break;
      case 'prev':
        if (stepNameProblem(rest)) {
          error('invalid-tag', `"${shown(tag)}": prev: takes the name of a step (${stepNameProblem(rest)}).`);
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
  if (names.length > 1) {
    error('two-step-names', `The cell is tagged with two steps (${names.join(', ')}); keep one.`);
  }
  if (names.length > 0) {
    role.name = names[0];
    return { role, diagnostics };
  }
  const settingsTags =
    role.prev.length + Object.keys({ ...role.limits, ...role.annotations, ...role.labels }).length;
  if (settingsTags > 0) {
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
        ...Object.entries(role.labels).map(([k, v]) => `label:${k}:${v}`)
      ];
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
