/** Small form controls shared by the sidebar sections: a labelled text field that commits on blur or Enter. */
import * as React from 'react';

export function TextField(props: {
  label: string;
  value: string;
  placeholder?: string;
  /** A problem with the saved value (shown until it is fixed). */
  error?: string;
  /**
   * Checks the text as it is typed: a problem is shown under the field at once and nothing is
   * committed until the text is valid (Escape puts the saved value back).
   */
  validate?: (draft: string) => string | undefined;
  /** A note under the field (e.g. how the value differs from the notebook's). */
  hint?: string;
  /** Shown as a button beside the field when given: puts the value back (e.g. to the notebook's). */
  onReset?: () => void;
  resetLabel?: string;
  list?: string;
  name: string;
  onCommit: (value: string) => void;
}): JSX.Element {
  const { label, value, placeholder, error, validate, hint, onReset, resetLabel, list, name, onCommit } =
    props;
  const [draft, setDraft] = React.useState(value);
  React.useEffect(() => setDraft(value), [value]);
  const draftProblem = draft !== value ? validate?.(draft) : undefined;
  const shown = draftProblem ?? error;
  const commit = () => {
    if (draft === value) {
      return;
    }
    if (draftProblem) {
      return;
    }
    onCommit(draft);
  };
  return (
    <label className="jp-cellpipe-Field" data-field={name} data-changed={onReset ? 'true' : undefined}>
      <span className="jp-cellpipe-Field-label">{label}</span>
      <span className="jp-cellpipe-Field-row">
        <input
          className="jp-mod-styled jp-cellpipe-Field-input"
          aria-invalid={shown ? true : undefined}
          value={draft}
          placeholder={placeholder}
          list={list}
          onChange={e => setDraft(e.target.value)}
          onBlur={commit}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              commit();
            } else if (e.key === 'Escape') {
              setDraft(value);
            }
          }}
        />
        {onReset && (
          <button
            type="button"
            className="jp-cellpipe-Field-reset"
            title={resetLabel}
            aria-label={resetLabel}
            onClick={e => {
              e.preventDefault();
              onReset();
            }}
          >
            ↺
          </button>
        )}
      </span>
      {shown && (
        <span className="jp-cellpipe-Field-error" role="alert">
          {shown}
        </span>
      )}
      {hint && !shown && <span className="jp-cellpipe-Field-hint">{hint}</span>}
    </label>
  );
}

/** A collapsible section with a heading. */
export function Section(props: {
  title: string;
  open?: boolean;
  children: React.ReactNode;
  name: string;
}): JSX.Element {
  return (
    <details className="jp-cellpipe-Section" open={props.open ?? true} data-section={props.name}>
      <summary className="jp-cellpipe-Section-title">{props.title}</summary>
      <div className="jp-cellpipe-Section-body">{props.children}</div>
    </details>
  );
}

/** `KEY=VALUE` lines ⇄ a record. */
export function recordToLines(record: Record<string, string> | undefined): string {
  return Object.entries(record ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export function linesToRecord(text: string): Record<string, string> | undefined {
  const entries = text
    .split(/[,\n]/)
    .map(part => part.trim())
    .filter(Boolean)
    .map(part => {
      const eq = part.indexOf('=');
      return eq < 0 ? [part, ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
