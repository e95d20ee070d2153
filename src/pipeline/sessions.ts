/**
 * cellpipe's state per open notebook: its NotebookPipeline (created on first use), the badges on its
 * cells and its pipeline panel, and the user's settings that apply to all of them.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import { browserAnalyser } from '../analysis/browser-analyser';
import { BadgeDisplay, CellBadges } from '../badges/cell-badges';
import type { Target } from '../core/tags/settings';
import { NotebookPipeline } from './notebook-pipeline';
import type { ReferencedNotebooks } from './referenced-notebooks';

/** The NotebookPipeline of each open notebook, its badges and its pipeline panel. */
export class Sessions {
  constructor(
    private readonly trans: TranslationBundle,
    /** A badge was clicked: its step should show in the sidebar. */
    private readonly onBadge: (session: NotebookPipeline, step: string) => void,
    /** The notebooks that notebook: steps run, read once for all open notebooks. */
    private readonly references?: ReferencedNotebooks
  ) {}

  /** The notebook's session, created on first use. */
  add(panel: NotebookPanel): NotebookPipeline {
    const existing = this._sessions.get(panel);
    if (existing) {
      return existing;
    }
    const session = new NotebookPipeline(panel, browserAnalyser(), this.references);
    this._sessions.set(panel, session);
    void panel.context.ready.then(() => {
      const badges = new CellBadges(session, this.trans, step => this.onBadge(session, step));
      badges.display = this._badgeDisplay;
      this._badges.set(session, badges);
      session.runs.parallel = this._parallelism;
      session.pipeline.defaultTarget = this._defaultTarget;
      void session.runs.refresh();
    });
    panel.disposed.connect(() => {
      this._sessions.delete(panel);
    });
    return session;
  }

  get(panel: NotebookPanel): NotebookPipeline | null {
    return this._sessions.get(panel) ?? null;
  }

  forEach(fn: (session: NotebookPipeline) => void): void {
    this._sessions.forEach(fn);
  }

  set badgeDisplay(value: BadgeDisplay) {
    this._badgeDisplay = value;
    this._sessions.forEach(s => {
      const badges = this._badges.get(s);
      if (badges) {
        badges.display = value;
      }
    });
  }

  set defaultTarget(value: Target) {
    this._defaultTarget = value;
    this._sessions.forEach(s => (s.pipeline.defaultTarget = value));
  }

  set parallelism(value: number) {
    this._parallelism = value;
    this._sessions.forEach(s => (s.runs.parallel = value));
  }

  panelOf(session: NotebookPipeline): { id: string } | null {
    const panel = this._panels.get(session);
    return panel && !panel.isDisposed ? panel : null;
  }

  setPanel(session: NotebookPipeline, panel: { id: string; isDisposed: boolean }): void {
    this._panels.set(session, panel);
  }

  private _badgeDisplay: BadgeDisplay = 'full';
  private _parallelism = 0;
  private _defaultTarget: Target = 'local';
  private readonly _sessions = new Map<NotebookPanel, NotebookPipeline>();
  private readonly _badges = new WeakMap<NotebookPipeline, CellBadges>();
  private readonly _panels = new WeakMap<NotebookPipeline, { id: string; isDisposed: boolean }>();
}
