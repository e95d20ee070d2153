/** The active cell's role: step (name, upstream steps), skip, imports, functions, parameters or metrics. */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CellRole, StepRole } from '../core/tags/grammar';
import { MAX_STEP_NAME_LENGTH, STEP_NAME } from '../core/tags/grammar';
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

function roleLabel(kind: (typeof ROLE_KINDS)[number], trans: TranslationBundle): string {
  switch (kind) {
    case 'continue':
      return trans.__('Not tagged (joins the cell above)');
    case 'step':
      return trans.__('Step');
    case 'skip':
      return trans.__('Skip (not in the pipeline)');
    case 'imports':
      return trans.__('Imports');
    case 'functions':
      return trans.__('Functions');
    case 'pipeline-parameters':
      return trans.__('Pipeline parameters');
    case 'pipeline-metrics':
      return trans.__('Pipeline metrics');
  }
}

function emptyStep(name: string): StepRole {
  return { kind: 'step', name, prev: [], limits: {}, annotations: {}, labels: {} };
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
      <Section name="cell" title={trans.__('Cell')}>
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
  const nameError = !STEP_NAME.test(role.name)
    ? trans.__('Lowercase letters, digits and _, starting with a letter or _ (as Kale requires).')
    : role.name.length > MAX_STEP_NAME_LENGTH
      ? trans.__('At most %1 characters (this name has %2).', MAX_STEP_NAME_LENGTH, role.name.length)
      : undefined;
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
        error={nameError}
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
          <option value="">
            {candidates.length ? trans.__('Add upstream step…') : trans.__('No other steps')}
          </option>
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
