/** The active cell's role: step (name, upstream steps), skip, imports, functions, parameters or metrics. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CellRole, StepRole } from '../core/tags/grammar';
import { STEP_NAME } from '../core/tags/grammar';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { Section, TextField } from './fields';

const ROLE_KINDS = [
  'continue',
  'step',
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
    } else {
      model.setRole(cell, { kind } as CellRole);
    }
  };
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
          onChange={r => model.setRole(cell, r)}
        />
      )}
    </Section>
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
  onChange: (role: StepRole) => void;
}): JSX.Element {
  const { role, stepNames, trans, onChange } = props;
  const candidates = stepNames.filter(n => n !== role.name && !role.prev.includes(n));
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
        onCommit={name => onChange({ ...role, name: name.trim() })}
      />
      <div className="jp-cellpipe-Field" data-field="upstream">
        <span className="jp-cellpipe-Field-label">{trans.__('Upstream steps')}</span>
        <div className="jp-cellpipe-Chips">
          {role.prev.map(p => (
            <span key={p} className="jp-cellpipe-Chip">
              {p}
              <button
                className="jp-cellpipe-Chip-remove"
                title={trans.__('Remove upstream step %1', p)}
                onClick={() => onChange({ ...role, prev: role.prev.filter(x => x !== p) })}
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
          onChange={e => e.target.value && onChange({ ...role, prev: [...role.prev, e.target.value] })}
        >
          <option value="">{candidates.length ? trans.__('Add…') : trans.__('No other steps')}</option>
          {candidates.map(n => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
    </>
  );
}
