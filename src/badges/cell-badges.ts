/**
 * Draws a badge on every code cell of a notebook: a Lumino widget inserted
 * into the cell's own layout (never by editing JupyterLab's DOM), kept in step
 * with the model: cell widgets exist for every cell even when a windowed
 * notebook has not attached them, and new cells get a badge when they appear.
 */
import type { Cell } from '@jupyterlab/cells';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { PanelLayout } from '@lumino/widgets';
import { Widget } from '@lumino/widgets';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { BadgeState, badgeStates } from './badge-state';

export type BadgeDisplay = 'full' | 'compact' | 'off';

class CellBadge extends Widget {
  constructor(private readonly onSelect: (step: string) => void) {
    super({ node: document.createElement('button') });
    this.addClass('jp-cellpipe-Badge');
    this.node.addEventListener('click', this);
  }

  handleEvent(event: Event): void {
    if (event.type === 'click' && this._step) {
      event.stopPropagation();
      this.onSelect(this._step);
    }
  }

  render(state: BadgeState | undefined, display: BadgeDisplay, trans: TranslationBundle): void {
    const node = this.node;
    const visible = display !== 'off' && !!state && state.role !== 'none';
    this.setHidden(!visible);
    if (!visible || !state) {
      this._step = null;
      return;
    }
    this._step = state.step ?? null;
    node.dataset.role = state.role;
    node.dataset.step = state.step ?? '';
    node.dataset.state = state.run?.state ?? '';
    node.className =
      'jp-cellpipe-Badge' + (state.color !== undefined ? ` jp-cellpipe-color-${state.color}` : '');
    const parts: string[] = [];
    if (state.step) {
      parts.push(
        state.role === 'continues'
          ? `↳ ${state.step}`
          : state.role === 'notebook'
            ? `▣ ${state.step}`
            : state.step
      );
      if (display === 'full' && state.prev.length > 0) {
        parts.push(`← ${state.prev.join(', ')}`);
      }
    } else {
      parts.push(state.role === 'continues' ? trans.__('↳ prelude') : state.role);
    }
    if (state.run) {
      parts.push(
        state.run.seconds !== undefined
          ? `${state.run.state} ${state.run.seconds.toFixed(1)} s`
          : state.run.state
      );
    }
    if (state.errors > 0) {
      parts.push(trans.__('%1 error(s)', state.errors));
    } else if (state.warnings > 0) {
      parts.push(trans.__('%1 warning(s)', state.warnings));
    }
    node.textContent = parts.join(' · ');
    node.title = state.step ? trans.__('Step %1: show it in the pipeline sidebar', state.step) : state.role;
  }

  private _step: string | null = null;
}

export class CellBadges {
  constructor(
    private readonly session: NotebookPipeline,
    private readonly trans: TranslationBundle,
    private readonly onSelect: (step: string) => void
  ) {
    session.pipeline.changed.connect(this.update, this);
    session.runs.changed.connect(this.update, this);
    session.panel.content.model?.cells.changed.connect(this.update, this);
  }

  get display(): BadgeDisplay {
    return this._display;
  }

  set display(value: BadgeDisplay) {
    this._display = value;
    this.update();
  }

  update(): void {
    const analysis = this.session.pipeline.analysis;
    if (!analysis || this.session.isDisposed) {
      return;
    }
    const states = badgeStates(analysis, this.session.runs.current?.steps);
    this.session.panel.content.widgets.forEach((cell, index) => {
      if (cell.model.type !== 'code') {
        return;
      }
      this._badgeOf(cell).render(states.get(index), this._display, this.trans);
    });
  }

  private _badgeOf(cell: Cell): CellBadge {
    let badge = this._badges.get(cell);
    if (!badge || badge.isDisposed) {
      badge = new CellBadge(this.onSelect);
      (cell.layout as PanelLayout).insertWidget(0, badge);
      this._badges.set(cell, badge);
    }
    return badge;
  }

  private _display: BadgeDisplay = 'full';
  private readonly _badges = new WeakMap<Cell, CellBadge>();
}
