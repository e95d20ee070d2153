/** Small form controls shared by the sidebar sections: a labelled text field that commits on blur or Enter. */
import * as React from 'react';

export function TextField(props: {
  label: string;
  value: string;
  placeholder?: string;
  error?: string;
  list?: string;
  name: string;
  onCommit: (value: string) => void;
}): JSX.Element {
  const { label, value, placeholder, error, list, name, onCommit } = props;
  const [draft, setDraft] = React.useState(value);
  React.useEffect(() => setDraft(value), [value]);
  const commit = () => {
    if (draft !== value) {
      onCommit(draft);
    }
  };
  return (
    <label className="jp-cellpipe-Field" data-field={name}>
      <span className="jp-cellpipe-Field-label">{label}</span>
      <input
        className="jp-mod-styled jp-cellpipe-Field-input"
        aria-invalid={error ? true : undefined}
        value={draft}
        placeholder={placeholder}
        list={list}
        onChange={e => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            commit();
          }
        }}
      />
      {error && <span className="jp-cellpipe-Field-error">{error}</span>}
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
