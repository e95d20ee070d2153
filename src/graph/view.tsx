/**
 * The step graph as SVG: draws a GraphLayout (see layout.ts) with the run
 * state of each step, and lets the user pan (drag), zoom (wheel, buttons,
 * + and - keys) and fit (button, 0 key). The only state kept here is the view
 * transform; the layout, states and selection come in as props.
 *
 * Until the user pans or zooms, the graph stays fitted to the panel, so it
 * follows edits (a new layout) and resizes; the fit button returns to that.
 * Fitting never shrinks names below readable: a graph too big for the panel
 * is shown from its top, and zooming out shows all of it.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import type { Diagnostic } from '../core/diagnostics';
import {
  edgePath,
  fitText,
  fitTransform,
  GraphEdge,
  GraphGroup,
  GraphLayout,
  GraphNode,
  NODE_METRICS,
  Point,
  textWidth as estimateWidth,
  Transform,
  zoomAt
} from './layout';
import { notebookStepView, StepState } from '../run/run-state';

/** The run states are the run model's. */
export type StepRunState = StepState;

export interface StepRunStatus {
  state: StepRunState;
  /** Time the step has run (running) or took (finished). */
  seconds?: number;
}

export interface PipelineGraphProps {
  layout: GraphLayout;
  /** Run state per step name; steps without one are drawn idle. */
  states?: Record<string, StepRunStatus>;
  /** The selected step (its cells are the notebook's selection). */
  selected?: string;
  /** A node was clicked, or activated with Enter or Space. */
  onSelect?(step: string): void;
  trans: TranslationBundle;
}

/** Font size (px) of the small node text, as the CSS draws it (the layout's defaults assume 13 and 11). */
const INFO_FONT = 11;
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
/** A pointer that moves less than this between down and up is a click, not a pan. */
const DRAG_THRESHOLD = 4;
/** Room kept above the fitted graph for the toolbar and the legend. */
const TOP_INSET = 40;

/** Short enough for the smallest node: "0.4 s", "12 s", "3m 5s", "1h 2m". */
export function formatDuration(seconds: number, trans: TranslationBundle): string {
  if (seconds < 9.95) {
    return trans.__('%1 s', seconds.toFixed(1));
  }
  const whole = Math.round(seconds);
  if (whole < 60) {
    return trans.__('%1 s', whole);
  }
  if (whole < 3600) {
    return trans.__('%1m %2s', Math.floor(whole / 60), whole % 60);
  }
  return trans.__('%1h %2m', Math.floor(whole / 3600), Math.floor((whole % 3600) / 60));
}

function stateLabel(state: StepRunState, trans: TranslationBundle): string {
  switch (state) {
    case 'queued':
      return trans.__('queued');
    case 'running':
      return trans.__('running');
    case 'cached':
      return trans.__('cached');
    case 'succeeded':
      return trans.__('succeeded');
    case 'failed':
      return trans.__('failed');
    case 'skipped':
      return trans.__('skipped');
    case 'cancelled':
      return trans.__('cancelled');
  }
}

function diagnosticLine(d: Diagnostic, trans: TranslationBundle): string {
  const where =
    d.cell === null
      ? ''
      : d.line === null
        ? ` ${trans.__('(cell %1)', d.cell + 1)}`
        : ` ${trans.__('(cell %1, line %2)', d.cell + 1, d.line)}`;
  const severity = d.severity === 'error' ? trans.__('Error') : trans.__('Warning');
  return `${severity}: ${d.message}${where}`;
}

/** The node's tooltip: everything the node shortens. */
function nodeTitle(node: GraphNode, status: StepRunStatus | undefined, trans: TranslationBundle): string {
  const lines = [node.step];
  const cells = node.cells.map(c => c + 1).join(', ');
  lines.push(
    node.path !== undefined
      ? trans._n('Cell %2 of %3', 'Cells %2 of %3', node.cells.length, cells, node.path)
      : trans._n('Cell %2', 'Cells %2', node.cells.length, cells)
  );
  if (node.ins.length) {
    lines.push(trans.__('Inputs: %1', node.ins.join(', ')));
  }
  if (node.outs.length) {
    lines.push(trans.__('Outputs: %1', node.outs.join(', ')));
  }
  if (node.parameters.length) {
    lines.push(trans.__('Parameters: %1', node.parameters.join(', ')));
  }
  if (node.metrics.length) {
    lines.push(trans.__('Metrics: %1', node.metrics.join(', ')));
  }
  if (status) {
    lines.push(
      status.seconds !== undefined
        ? `${stateLabel(status.state, trans)} · ${formatDuration(status.seconds, trans)}`
        : stateLabel(status.state, trans)
    );
  }
  return lines.join('\n');
}

function NodeView(props: {
  node: GraphNode;
  status?: StepRunStatus;
  selected: boolean;
  onSelect?(step: string): void;
  trans: TranslationBundle;
}): JSX.Element {
  const { node, status, selected, onSelect, trans } = props;
  const { paddingX, badge } = NODE_METRICS;
  const textWidth = node.width - 2 * paddingX;
  const counts = trans.__('%1 in · %2 out', node.ins.length, node.outs.length);
  const run = status
    ? status.seconds !== undefined
      ? formatDuration(status.seconds, trans)
      : stateLabel(status.state, trans)
    : '';
  // The run state or duration is right-aligned and always whole; the counts get what is left.
  const runWidth = run ? estimateWidth(run, INFO_FONT) + 8 : 0;
  const info = fitText(counts, textWidth - runWidth, INFO_FONT);
  const uses = node.parameters.length ? trans.__('uses %1', node.parameters.join(', ')) : '';
  const records = node.metrics.length ? trans.__('records %1', node.metrics.join(', ')) : '';
  const extra = [uses, records].filter(Boolean).join(' · ');
  const { errors, warnings, items } = node.diagnostics;
  const badgeKind = errors ? 'error' : warnings ? 'warning' : null;
  const select = () => onSelect?.(node.step);
  return (
    <g
      className="jp-cellpipe-Graph-node"
      data-step={node.step}
      data-state={status?.state ?? 'idle'}
      data-selected={selected ? 'true' : undefined}
      data-diagnostics={badgeKind ?? undefined}
      transform={`translate(${node.x},${node.y})`}
      tabIndex={0}
      role="button"
      aria-pressed={selected}
      aria-label={nodeTitle(node, status, trans).replace(/\n/g, '; ')}
      onClick={select}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select();
        }
      }}
    >
      <title>{nodeTitle(node, status, trans)}</title>
      <rect className="jp-cellpipe-Graph-nodeBox" width={node.width} height={node.height} rx={6} ry={6} />
      <rect className="jp-cellpipe-Graph-nodeStripe" width={4} height={node.height - 8} x={0} y={4} rx={2} />
      <text className="jp-cellpipe-Graph-nodeName" x={paddingX} y={19}>
        {node.label}
      </text>
      <text className="jp-cellpipe-Graph-nodeInfo" x={paddingX} y={36}>
        {info}
      </text>
      {run && (
        <text className="jp-cellpipe-Graph-nodeRun" x={node.width - paddingX} y={36} textAnchor="end">
          {run}
        </text>
      )}
      {extra && (
        <text className="jp-cellpipe-Graph-nodeVars" x={paddingX} y={36 + NODE_METRICS.extraLine}>
          {fitText(extra, textWidth, INFO_FONT)}
        </text>
      )}
      {badgeKind && (
        <g
          className="jp-cellpipe-Graph-badge"
          data-kind={badgeKind}
          transform={`translate(${node.width - badge / 2 - 3},${badge / 2 + 2})`}
        >
          <title>{items.map(d => diagnosticLine(d, trans)).join('\n')}</title>
          <circle r={8} />
          <text textAnchor="middle" dy="0.35em">
            {errors || warnings}
          </text>
        </g>
      )}
    </g>
  );
}

/** A notebook: step: a box around the steps of the notebook it runs, with its name and notebook on top. */
function GroupView(props: {
  group: GraphGroup;
  state?: StepRunState;
  selected: boolean;
  onSelect?(step: string): void;
  trans: TranslationBundle;
}): JSX.Element {
  const { group, state, selected, onSelect, trans } = props;
  const { errors, warnings, items } = group.diagnostics;
  const badgeKind = errors ? 'error' : warnings ? 'warning' : null;
  const title = [
    trans.__('Notebook step %1: runs %2', group.step, group.path),
    ...(state ? [stateLabel(state, trans)] : []),
    ...items.map(d => diagnosticLine(d, trans))
  ].join('\n');
  const select = () => onSelect?.(group.step);
  return (
    <g
      className="jp-cellpipe-Graph-group"
      data-step={group.step}
      data-depth={group.depth}
      data-state={state ?? 'idle'}
      data-selected={selected ? 'true' : undefined}
      data-diagnostics={badgeKind ?? undefined}
      transform={`translate(${group.x},${group.y})`}
    >
      <title>{title}</title>
      <rect className="jp-cellpipe-Graph-groupBox" width={group.width} height={group.height} rx={8} ry={8} />
      <g
        className="jp-cellpipe-Graph-groupHeader"
        tabIndex={0}
        role="button"
        aria-pressed={selected}
        aria-label={title.replace(/\n/g, '; ')}
        onClick={select}
        onKeyDown={event => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            select();
          }
        }}
      >
        <text className="jp-cellpipe-Graph-groupName" x={10} y={16}>
          {fitText(
            `${group.label} · ${group.path}`,
            group.width - 20 - (badgeKind ? 20 : 0),
            INFO_FONT,
            true
          )}
        </text>
      </g>
      {badgeKind && (
        <g
          className="jp-cellpipe-Graph-badge"
          data-kind={badgeKind}
          transform={`translate(${group.width - 14},${13})`}
        >
          <circle r={8} />
          <text textAnchor="middle" dy="0.35em">
            {errors || warnings}
          </text>
        </g>
      )}
    </g>
  );
}

function EdgeView(props: {
  edge: GraphEdge;
  d: string;
  marker: string;
  active: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { edge, d, marker, active, trans } = props;
  const title =
    edge.kind === 'suggested'
      ? trans.__(
          'Suggested: add prev:%1 to step %2 (it reads %3)',
          edge.from,
          edge.to,
          edge.variables.join(', ')
        )
      : edge.kind === 'indirect'
        ? trans.__('%1 loads %2 from %3', edge.to, edge.variables.join(', '), edge.from)
        : edge.variables.length
          ? trans.__('%1 → %2: %3', edge.from, edge.to, edge.variables.join(', '))
          : trans.__('%1 → %2 (no data)', edge.from, edge.to);
  const label = edge.label;
  return (
    <g
      className="jp-cellpipe-Graph-edge"
      data-kind={edge.kind}
      data-active={active ? 'true' : undefined}
      data-from={edge.from}
      data-to={edge.to}
    >
      <title>{title}</title>
      <path className="jp-cellpipe-Graph-edgePath" d={d} markerEnd={`url(#${marker})`} />
      {label && (
        <g className="jp-cellpipe-Graph-edgeLabel">
          <rect x={label.x} y={label.y} width={label.width} height={label.height} rx={3} ry={3} />
          <text x={label.x + label.width / 2} y={label.y + label.height / 2} textAnchor="middle" dy="0.35em">
            {label.text}
          </text>
        </g>
      )}
    </g>
  );
}

/** The cubic curve of an indirect edge (start, two control points, end). */
function indirectPath([start, c1, c2, end]: Point[]): string {
  return `M${start.x},${start.y}C${c1.x},${c1.y} ${c2.x},${c2.y} ${end.x},${end.y}`;
}

/** Below this scale step names cannot be read; a bigger graph is shown from its top, to be panned. */
const READABLE_SCALE = 0.4;
const FIT_PADDING = 16;

function fitBelowToolbar(layout: GraphLayout, width: number, height: number): Transform {
  const available = Math.max(1, height - TOP_INSET);
  const t = fitTransform(layout, width, available, { padding: FIT_PADDING, minScale: READABLE_SCALE });
  return {
    scale: t.scale,
    tx: layout.width * t.scale > width ? FIT_PADDING : t.tx,
    ty: TOP_INSET + (layout.height * t.scale > available ? FIT_PADDING : t.ty)
  };
}

export function PipelineGraph(props: PipelineGraphProps): JSX.Element {
  const { layout, states, selected, onSelect, trans } = props;
  const container = React.useRef<HTMLDivElement>(null);
  const svg = React.useRef<SVGSVGElement>(null);
  const [size, setSize] = React.useState<{ width: number; height: number } | null>(null);
  /** null while the graph follows the panel's size and the layout (fitted). */
  const [userView, setUserView] = React.useState<Transform | null>(null);
  const [panning, setPanning] = React.useState(false);
  /** Set when a pan ends, so that the click the browser sends next does not select. */
  const justPanned = React.useRef(false);
  const drag = React.useRef<{
    pointer: number;
    x: number;
    y: number;
    start: Transform;
    moved: boolean;
  } | null>(null);
  const markerId = 'jp-cellpipe-Graph-arrow' + React.useId().replace(/[^a-zA-Z0-9_-]/g, '');

  const fitted = size ? fitBelowToolbar(layout, size.width, size.height) : { scale: 1, tx: 0, ty: 0 };
  const view = userView ?? fitted;
  // Handlers registered once read the latest transform from here.
  const viewRef = React.useRef(view);
  viewRef.current = view;

  React.useEffect(() => {
    const element = container.current;
    if (!element) {
      return;
    }
    const measure = () => setSize({ width: element.clientWidth, height: element.clientHeight });
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // Wheel zoom needs preventDefault, which React's passive wheel listener cannot do.
  React.useEffect(() => {
    const element = svg.current;
    if (!element) {
      return;
    }
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
      const factor = Math.exp(-event.deltaY * unit * (event.ctrlKey ? 0.01 : 0.0015));
      const rect = element.getBoundingClientRect();
      setUserView(
        zoomAt(
          viewRef.current,
          factor,
          event.clientX - rect.left,
          event.clientY - rect.top,
          MIN_SCALE,
          MAX_SCALE
        )
      );
    };
    element.addEventListener('wheel', onWheel, { passive: false });
    return () => element.removeEventListener('wheel', onWheel);
  }, []);

  // A step selected elsewhere (the notebook's active cell) is brought into view when outside it.
  React.useEffect(() => {
    const node = layout.nodes.find(n => n.step === selected);
    if (!node || !size || userView === null) {
      return;
    }
    const t = userView;
    const left = node.x * t.scale + t.tx;
    const top = node.y * t.scale + t.ty;
    const right = left + node.width * t.scale;
    const bottom = top + node.height * t.scale;
    if (left < 0 || top < 0 || right > size.width || bottom > size.height) {
      setUserView({
        scale: t.scale,
        tx: size.width / 2 - (node.x + node.width / 2) * t.scale,
        ty: size.height / 2 - (node.y + node.height / 2) * t.scale
      });
    }
    // Only a change of selection moves the view, not the user's own panning or a new layout.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const zoomBy = (factor: number) => {
    const width = size?.width ?? 0;
    const height = size?.height ?? 0;
    setUserView(zoomAt(view, factor, width / 2, height / 2, MIN_SCALE, MAX_SCALE));
  };
  const fit = () => setUserView(null);

  const onPointerDown = (event: React.PointerEvent<SVGSVGElement>) => {
    if (event.button !== 0) {
      return;
    }
    justPanned.current = false;
    drag.current = {
      pointer: event.pointerId,
      x: event.clientX,
      y: event.clientY,
      start: view,
      moved: false
    };
  };
  const onPointerMove = (event: React.PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d || d.pointer !== event.pointerId) {
      return;
    }
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) {
      return;
    }
    if (!d.moved) {
      // Captured only once it is a drag, so that a click on a node still reaches the node.
      d.moved = true;
      event.currentTarget.setPointerCapture(event.pointerId);
      setPanning(true);
    }
    setUserView({ scale: d.start.scale, tx: d.start.tx + dx, ty: d.start.ty + dy });
  };
  const endDrag = (event: React.PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (d && d.pointer === event.pointerId) {
      drag.current = null;
      setPanning(false);
      justPanned.current = d.moved;
      if (d.moved && event.currentTarget.hasPointerCapture(event.pointerId)) {
        event.currentTarget.releasePointerCapture(event.pointerId);
      }
    }
  };
  const onClickCapture = (event: React.MouseEvent) => {
    // The click that ends a pan is not a selection.
    if (justPanned.current) {
      justPanned.current = false;
      event.stopPropagation();
    }
  };
  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.target !== container.current && event.target !== svg.current) {
      return;
    }
    if (event.key === '+' || event.key === '=') {
      zoomBy(ZOOM_STEP);
    } else if (event.key === '-') {
      zoomBy(1 / ZOOM_STEP);
    } else if (event.key === '0') {
      fit();
    } else {
      return;
    }
    event.preventDefault();
  };

  const touches = (e: GraphEdge) => selected !== undefined && (e.from === selected || e.to === selected);
  const shownIndirect = layout.indirect.filter(touches);
  const marker = (kind: GraphEdge['kind'], active: boolean) =>
    `${markerId}-${active && kind === 'declared' ? 'active' : kind}`;

  return (
    <div
      className="jp-cellpipe-Graph"
      ref={container}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={trans.__('Pipeline steps graph')}
    >
      <div className="jp-cellpipe-Graph-toolbar" role="toolbar" aria-label={trans.__('Graph view')}>
        <button
          type="button"
          className="jp-cellpipe-Graph-button"
          title={trans.__('Zoom in (+)')}
          aria-label={trans.__('Zoom in')}
          onClick={() => zoomBy(ZOOM_STEP)}
        >
          +
        </button>
        <button
          type="button"
          className="jp-cellpipe-Graph-button"
          title={trans.__('Zoom out (-)')}
          aria-label={trans.__('Zoom out')}
          onClick={() => zoomBy(1 / ZOOM_STEP)}
        >
          −
        </button>
        <button
          type="button"
          className="jp-cellpipe-Graph-button"
          title={trans.__('Fit the graph to the panel (0)')}
          aria-pressed={userView === null}
          onClick={fit}
        >
          {trans.__('Fit')}
        </button>
      </div>
      {(layout.parameters.length > 0 || layout.metrics.length > 0) && (
        <div className="jp-cellpipe-Graph-legend">
          {layout.parameters.length > 0 && (
            <div
              className="jp-cellpipe-Graph-legendRow"
              title={layout.parameters.map(p => `${p.name} = ${p.value} (${p.type})`).join('\n')}
            >
              <span className="jp-cellpipe-Graph-legendKey">{trans.__('Parameters')}</span>{' '}
              {layout.parameters.map(p => `${p.name} = ${p.value}`).join(', ')}
            </div>
          )}
          {layout.metrics.length > 0 && (
            <div
              className="jp-cellpipe-Graph-legendRow"
              title={layout.metrics
                .map(m => (m.step ? trans.__('%1 (recorded by %2)', m.name, m.step) : m.name))
                .join('\n')}
            >
              <span className="jp-cellpipe-Graph-legendKey">{trans.__('Metrics')}</span>{' '}
              {layout.metrics.map(m => m.name).join(', ')}
            </div>
          )}
        </div>
      )}
      {layout.nodes.length === 0 && (
        <div className="jp-cellpipe-Graph-empty">
          {trans.__('No steps yet: tag a code cell step:NAME to start a pipeline.')}
        </div>
      )}
      <svg
        className="jp-cellpipe-Graph-canvas"
        ref={svg}
        data-panning={panning ? 'true' : undefined}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={endDrag}
        onPointerCancel={endDrag}
        onClickCapture={onClickCapture}
      >
        <defs>
          {(['declared', 'suggested', 'indirect', 'active'] as const).map(kind => (
            <marker
              key={kind}
              id={`${markerId}-${kind}`}
              className="jp-cellpipe-Graph-arrow"
              data-kind={kind}
              viewBox="0 0 10 10"
              refX={9}
              refY={5}
              markerWidth={7}
              markerHeight={7}
              markerUnits="userSpaceOnUse"
              orient="auto"
            >
              <path d="M0,0L10,5L0,10z" />
            </marker>
          ))}
        </defs>
        <g transform={`translate(${view.tx},${view.ty}) scale(${view.scale})`}>
          <g className="jp-cellpipe-Graph-groups">
            {layout.groups.map(group => (
              <GroupView
                key={group.step}
                group={group}
                state={states ? notebookStepView(states, group.step)?.state : undefined}
                selected={group.step === selected}
                onSelect={onSelect}
                trans={trans}
              />
            ))}
          </g>
          <g className="jp-cellpipe-Graph-edges">
            {layout.edges.map(edge => (
              <EdgeView
                key={`${edge.from}\u0000${edge.to}`}
                edge={edge}
                d={edgePath(edge.points)}
                marker={marker(edge.kind, touches(edge))}
                active={touches(edge)}
                trans={trans}
              />
            ))}
          </g>
          <g className="jp-cellpipe-Graph-nodes">
            {layout.nodes.map(node => (
              <NodeView
                key={node.step}
                node={node}
                status={states?.[node.step]}
                selected={node.step === selected}
                onSelect={onSelect}
                trans={trans}
              />
            ))}
          </g>
          {/* Over the nodes: a highlight of the selected step's data, which may cross other steps. */}
          <g className="jp-cellpipe-Graph-overlay">
            {shownIndirect.map(edge => (
              <EdgeView
                key={`indirect\u0000${edge.from}\u0000${edge.to}`}
                edge={edge}
                d={indirectPath(edge.points)}
                marker={marker('indirect', false)}
                active={true}
                trans={trans}
              />
            ))}
          </g>
        </g>
      </svg>
    </div>
  );
}
