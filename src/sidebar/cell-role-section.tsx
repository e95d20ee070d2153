/**
 * The active cell's role: step (name, upstream steps, the settings its tags give), notebook (a step
 * that runs another notebook: name, path, upstream steps), skip, imports, functions, parameters or
 * metrics. The problems of the cell's tags show by the fields, as the analysis reports them.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Diagnostic } from '../core/diagnostics';
import { stepNameOfNotebook } from '../core/graph/steps';
import type { CellRole, NotebookRole, StepRole } from '../core/tags/grammar';
import { MAX_STEP_NAME_LENGTH, roleTags, STEP_NAME } from '../core/tags/grammar';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section, TextField } from './fields';

const ROLE_KINDS = [
  'continue',
  'step',
  'notebook',
  'skip',
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics'
] as const;

type RoleKind = (typeof ROLE_KINDS)[number];

/** Short enough for the sidebar's default width; what the role means is said below the menu. */
function roleLabel(kind: RoleKind, trans: TranslationBundle): string {
  switch (kind) {
    case 'continue':
      return trans.__('Not tagged');
    case 'step':
      return trans.__('Step');
    case 'notebook':
      return trans.__('Notebook');
    case 'skip':
      return trans.__('Skip');
    case 'imports':
      return trans.__('Imports');
    case 'functions':
      return trans.__('Functions');
    case 'pipeline-parameters':
      return trans.__('Parameters');
    case 'pipeline-metrics':
      return trans.__('Metrics');
  }
}

function roleHint(kind: RoleKind, trans: TranslationBundle): string {
  switch (kind) {
    case 'continue':
      return trans.__('Joins the cell above (its step, or its imports or functions).');
    case 'step':
      return trans.__('Starts a step: this cell and the untagged cells below it.');
    case 'notebook':
      return trans.__('Runs another notebook as a step (its steps as a sub-pipeline).');
    case 'skip':
      return trans.__('Left out of the pipeline.');
    case 'imports':
      return trans.__('Runs before every step.');
    case 'functions':
      return trans.__('Definitions every step gets.');
    case 'pipeline-parameters':
      return trans.__('Values a run can change.');
    case 'pipeline-metrics':
      return trans.__('Values each run records.');
  }
}

function emptyStep(name: string): StepRole {
  return { kind: 'step', name, prev: [], limits: {}, annotations: {}, labels: {} };
}

/** Why a step name would not do, or undefined. */
export function stepNameProblem(name: string, trans: TranslationBundle): string | undefined {
  const trimmed = name.trim();
  if (trimmed === '') {
    return trans.__('A step needs a name.');
  }
  if (!STEP_NAME.test(trimmed)) {
    const suggestion = trimmed
      .toLowerCase()
      .replace(/[^_a-z0-9]+/g, '_')
      .replace(/^([0-9])/, '_$1');
    return trans.__(
      'Use lowercase letters, digits and _, starting with a letter or _ (as Kale requires), e.g. %1.',
      suggestion
    );
  }
  if (trimmed.length > MAX_STEP_NAME_LENGTH) {
    return trans.__('At most %1 characters (this name has %2).', MAX_STEP_NAME_LENGTH, trimmed.length);
  }
  return undefined;
}

export function CellRoleSection(props: {
  session: NotebookPipeline;
  cell: number;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { session, cell, trans } = props;
  const model = session.pipeline;
  const analysis = model.analysis;
  const cellType = session.panel.content.model?.sharedModel.cells[cell]?.cell_type;
  if (cell < 0 || cellType !== 'code') {
    return (
      <Section name="cell" title={cell < 0 ? trans.__('Cell') : trans.__('Cell %1', cell + 1)}>
        <p className="jp-cellpipe-Hint">{trans.__('Select a code cell to tag it.')}</p>
      </Section>
    );
  }
  const role = model.roleOf(cell);
  const stepNames = analysis?.steps.map(s => s.name) ?? [];
  const setKind = (kind: CellRole['kind']) => {
    if (kind === 'step') {
      model.setRole(cell, emptyStep(uniqueName(stepNames)));
    } else if (kind === 'notebook') {
      model.setRole(cell, { kind: 'notebook', name: '', prev: [] });
    } else {
      model.setRole(cell, { kind } as CellRole);
    }
  };
  // Problems of this cell's tags (the rest show in the Problems section and on the badge).
  const tagProblems = (analysis?.diagnostics ?? []).filter(d => d.cell === cell && TAG_CODES.has(d.code));
  return (
    <Section name="cell" title={trans.__('Cell %1', cell + 1)}>
      <label className="jp-cellpipe-Field" data-field="role">
        <span className="jp-cellpipe-Field-label">{trans.__('Role')}</span>
        <select
          className="jp-mod-styled"
          value={role.kind}
          onChange={e => setKind(e.target.value as CellRole['kind'])}
        >
          {ROLE_KINDS.map(kind => (
            <option key={kind} value={kind}>
              {roleLabel(kind, trans)}
            </option>
          ))}
        </select>
        <span className="jp-cellpipe-Field-hint">{roleHint(role.kind, trans)}</span>
      </label>
      {role.kind === 'step' && (
        <StepRoleFields
          role={role}
          stepNames={stepNames}
          trans={trans}
          update={change => {
            const now = model.roleOf(cell);
            if (now.kind === 'step') {
              model.setRole(cell, change(now));
            }
          }}
        />
      )}
      {role.kind === 'notebook' && (
        <NotebookRoleFields
          role={role}
          path={model.notebookPathOf(cell)}
          stepNames={stepNames}
          problems={(analysis?.diagnostics ?? []).filter(d => d.cell === cell && NOTEBOOK_CODES.has(d.code))}
          trans={trans}
          update={change => {
            const now = model.roleOf(cell);
            if (now.kind === 'notebook') {
              model.setRole(cell, change(now));
            }
          }}
          onPath={path => model.setNotebookPath(cell, path)}
        />
      )}
      <ProblemList problems={tagProblems} name="tags" />
    </Section>
  );
}

/** Codes of problems with a cell's tags. */
const TAG_CODES = new Set([
  'invalid-tag',
  'invalid-step-name',
  'conflicting-tags',
  'two-step-names',
  'prev-without-step',
  'settings-without-step',
  'ignored-tags',
  'duplicate-step'
]);

/** Codes of problems with the notebook a notebook: cell runs. */
const NOTEBOOK_CODES = new Set([
  'notebook-path-missing',
  'notebook-unreadable',
  'notebook-cycle',
  'notebook-cell-code',
  'notebook-loading'
]);

function ProblemList(props: { problems: Diagnostic[]; name: string }): JSX.Element | null {
  if (props.problems.length === 0) {
    return null;
  }
  return (
    <ul className="jp-cellpipe-FieldProblems" data-problems={props.name}>
      {props.problems.map((d, i) => (
        <li key={i} className={`jp-cellpipe-Field-${d.severity === 'info' ? 'hint' : 'error'}`}>
          {d.message}
        </li>
      ))}
    </ul>
  );
}

function uniqueName(existing: string[]): string {
  for (let i = existing.length + 1; ; i++) {
    const name = `step_${i}`;
    if (!existing.includes(name)) {
      return name;
    }
  }
}

function StepRoleFields(props: {
  role: StepRole;
  stepNames: string[];
  trans: TranslationBundle;
  /** Changes the role as the cell's tags are now (not as they were when this rendered: edits in a row all count). */
  update: (change: (role: StepRole) => StepRole) => void;
}): JSX.Element {
  const { role, stepNames, trans, update } = props;
  // The step's settings tags (Kale 2.x and 1.x): shown so the user sees them read, removable one by one.
  const settingTags = roleTags(role).filter(t => !t.startsWith('step:') && !t.startsWith('prev:'));
  return (
    <>
      <datalist id="jp-cellpipe-step-names">
        {stepNames.map(n => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <TextField
        name="step-name"
        label={trans.__('Step name')}
        value={role.name}
        list="jp-cellpipe-step-names"
        // A tag written with a bad name would turn the cell into something else: nothing is written
        // until the name is valid, and the problem shows as it is typed.
        validate={name => stepNameProblem(name, trans)}
        error={stepNameProblem(role.name, trans)}
        onCommit={name => update(r => ({ ...r, name: name.trim() }))}
      />
      <UpstreamField
        prev={role.prev}
        self={role.name}
        stepNames={stepNames}
        trans={trans}
        onChange={edit => update(r => ({ ...r, prev: edit(r.prev) }))}
      />
      {settingTags.length > 0 && (
        <div className="jp-cellpipe-Field" data-field="setting-tags">
          <span className="jp-cellpipe-Field-label">{trans.__('Settings from tags')}</span>
          <div className="jp-cellpipe-Chips">
            {settingTags.map(tag => (
              <span key={tag} className="jp-cellpipe-Chip">
                <code>{tag}</code>
                <button
                  className="jp-cellpipe-Chip-remove"
                  title={trans.__('Remove the tag %1', tag)}
                  onClick={() => update(r => withoutSettingTag(r, tag))}
                >
                  ×
                </button>
              </span>
            ))}
          </div>
        </div>
      )}
    </>
  );
}

/** The role without one of its settings tags. */
function withoutSettingTag(role: StepRole, tag: string): StepRole {
  const [prefix, ...rest] = tag.split(':');
  const key = rest[0];
  const next: StepRole = {
    ...role,
    limits: { ...role.limits },
    annotations: { ...role.annotations },
    labels: { ...role.labels }
  };
  switch (prefix) {
    case 'limit':
      delete next.limits[key];
      break;
    case 'annotation':
      delete next.annotations[key];
      break;
    case 'label':
      delete next.labels[key];
      break;
    case 'image':
      delete next.image;
      break;
    case 'cache':
      delete next.cache;
      break;
    case 'report':
      delete next.report;
      break;
    case 'secret':
      next.secrets = (role.secrets ?? []).filter(s => `secret:${s.secret}:${s.key}:${s.env}` !== tag);
      break;
  }
  return next;
}

function NotebookRoleFields(props: {
  role: NotebookRole;
  path: string;
  stepNames: string[];
  problems: Diagnostic[];
  trans: TranslationBundle;
  update: (change: (role: NotebookRole) => NotebookRole) => void;
  onPath: (path: string) => void;
}): JSX.Element {
  const { role, path, stepNames, problems, trans, update, onPath } = props;
  // Empty: the step is named after the notebook (the placeholder).
  const nameProblem = (name: string) => (name.trim() === '' ? undefined : stepNameProblem(name, trans));
  const pathError = problems
    .filter(d => d.severity === 'error')
    .map(d => d.message)
    .join(' ');
  const loading = problems.find(d => d.severity === 'info');
  return (
    <>
      <TextField
        name="notebook-path"
        label={trans.__('Notebook it runs')}
        value={path}
        placeholder={trans.__('e.g. ./prepare_data.ipynb (relative to this notebook)')}
        error={pathError || undefined}
        onCommit={value => onPath(value.trim())}
      />
      {loading && <p className="jp-cellpipe-Hint">{loading.message}</p>}
      <TextField
        name="notebook-name"
        label={trans.__('Step name')}
        value={role.name}
        placeholder={stepNameOfNotebook(path)}
        validate={nameProblem}
        error={nameProblem(role.name)}
        onCommit={name => update(r => ({ ...r, name: name.trim() }))}
      />
      <UpstreamField
        prev={role.prev}
        self={role.name || stepNameOfNotebook(path)}
        stepNames={stepNames}
        trans={trans}
        onChange={edit => update(r => ({ ...r, prev: edit(r.prev) }))}
      />
      <p className="jp-cellpipe-Hint">
        {trans.__(
          'The notebook runs as a sub-pipeline: its steps get the variables they read from the steps above, ' +
            'and the parameters it declares or reads from this notebook; the steps below get what it defines.'
        )}
      </p>
    </>
  );
}

function UpstreamField(props: {
  prev: string[];
  self: string;
  stepNames: string[];
  trans: TranslationBundle;
  /** Edits the upstream steps as they are when the user acts. */
  onChange: (edit: (prev: string[]) => string[]) => void;
}): JSX.Element {
  const { prev, self, stepNames, trans, onChange } = props;
  const candidates = stepNames.filter(n => n !== self && !prev.includes(n));
  return (
    <div className="jp-cellpipe-Field" data-field="upstream">
      <span className="jp-cellpipe-Field-label">{trans.__('Upstream steps')}</span>
      <div className="jp-cellpipe-Chips">
        {prev.map(p => (
          <span key={p} className="jp-cellpipe-Chip">
            {p}
            <button
              className="jp-cellpipe-Chip-remove"
              title={trans.__('Remove upstream step %1', p)}
              onClick={() => onChange(now => now.filter(x => x !== p))}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <select
        className="jp-mod-styled"
        aria-label={trans.__('Add an upstream step')}
        value=""
        onChange={e => {
          const added = e.target.value;
          if (added) {
            onChange(now => (now.includes(added) ? now : [...now, added]));
          }
        }}
      >
        <option value="">{candidates.length ? trans.__('Add…') : trans.__('No other steps')}</option>
        {candidates.map(n => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}
