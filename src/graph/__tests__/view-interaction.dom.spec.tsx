/**
 * The step graph in the DOM, used as a user does: drag to pan, the wheel and the buttons and keys to
 * zoom, Fit to go back; a click or Enter on a step selects it, the click that ends a drag does not; the
 * legend gives the parameters of the run shown.
 */
import { deserialize, serialize } from 'v8';
import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';
import { act } from 'react-dom/test-utils';
import { nullTranslator } from '@jupyterlab/translation';
import { analyzeNotebook } from '../../core/pipeline';
import { codeNotebook } from '../../core/__tests__/support';
import { nodeAnalyser } from '../../__tests__/frontend-harness';
import { GraphLayout, layoutPipeline } from '../layout';
import { PipelineGraph } from '../view';

jest.setTimeout(60000);
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const trans = nullTranslator.load('cellpipe');

let layout: GraphLayout;
let container: HTMLElement;
let root: Root;

beforeAll(async () => {
  // dagre clones with structuredClone, which Node has and jsdom's window lacks.
  globalThis.structuredClone ??= <T,>(value: T): T => deserialize(serialize(value)) as T;
  const nb = codeNotebook(
    [['pipeline-parameters'], 'rate = 0.5'],
    [['step:load'], 'xs = [1, 2, 3]'],
    [['step:scale', 'prev:load'], 'ys = [x * rate for x in xs]'],
    [['step:report', 'prev:scale'], 'print(sum(ys))']
  );
  layout = layoutPipeline(analyzeNotebook(nb, await nodeAnalyser()));
  // jsdom lays nothing out: the graph's panel measures 800 × 600, and pointer capture is a no-op.
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 800 });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 600 });
  Element.prototype.setPointerCapture = () => undefined;
  Element.prototype.releasePointerCapture = () => undefined;
  Element.prototype.hasPointerCapture = () => true;
});

beforeEach(() => {
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

async function draw(props: Partial<React.ComponentProps<typeof PipelineGraph>> = {}): Promise<string[]> {
  const selected: string[] = [];
  await act(async () =>
    root.render(<PipelineGraph layout={layout} onSelect={s => selected.push(s)} trans={trans} {...props} />)
  );
  return selected;
}

const view = () => container.querySelector('svg > g')!.getAttribute('transform')!;
const scaleOf = (t: string) => Number(/scale\(([\d.]+)\)/.exec(t)![1]);
const translateOf = (t: string) => /translate\(([-\d.]+),([-\d.]+)\)/.exec(t)!.slice(1).map(Number);
const svg = () => container.querySelector('svg')!;
const node = (step: string) => container.querySelector<SVGGElement>(`[data-step="${step}"]`)!;

function pointer(target: Element, type: string, x: number, y: number): void {
  const event = new MouseEvent(type, { bubbles: true, clientX: x, clientY: y, button: 0 });
  Object.defineProperty(event, 'pointerId', { value: 1 });
  target.dispatchEvent(event);
}

describe('the step graph', () => {
  it('pans with a drag, and the click that ends the drag selects nothing', async () => {
    const selected = await draw();
    const fitted = view();
    await act(async () => {
      pointer(node('scale'), 'pointerdown', 100, 100);
      pointer(svg(), 'pointermove', 160, 130);
      pointer(svg(), 'pointerup', 160, 130);
      node('scale').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    const [x0, y0] = translateOf(fitted);
    const [x1, y1] = translateOf(view());
    expect([x1 - x0, y1 - y0]).toEqual([60, 30]);
    expect(scaleOf(view())).toBe(scaleOf(fitted));
    expect(selected).toEqual([]);
  });

  it('zooms with the buttons, the keys and the wheel (around the pointer), and Fit goes back', async () => {
    await draw();
    const fitted = view();
    const button = (label: string) =>
      container.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]`)!;
    await act(async () => button('Zoom in').click());
    expect(scaleOf(view())).toBeCloseTo(scaleOf(fitted) * 1.25);
    await act(async () => {
      container
        .querySelector('.jp-cellpipe-Graph')!
        .dispatchEvent(new KeyboardEvent('keydown', { key: '-', bubbles: true }));
    });
    expect(scaleOf(view())).toBeCloseTo(scaleOf(fitted));
    const before = view();
    await act(async () => {
      svg().dispatchEvent(
        new WheelEvent('wheel', { deltaY: -200, clientX: 400, clientY: 300, bubbles: true, cancelable: true })
      );
    });
    const after = view();
    expect(scaleOf(after)).toBeGreaterThan(scaleOf(before));
    // The point under the pointer stays where it was: (400 - tx) / scale is unchanged.
    const [bx] = translateOf(before);
    const [ax] = translateOf(after);
    expect((400 - ax) / scaleOf(after)).toBeCloseTo((400 - bx) / scaleOf(before));
    await act(async () => container.querySelector<HTMLButtonElement>('button[aria-pressed]')!.click());
    expect(view()).toBe(fitted);
  });

  it('selects a step with a click or Enter, marks it, and shows the edges of its data', async () => {
    const selected = await draw();
    await act(async () => node('load').dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await act(async () => {
      node('report').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    });
    expect(selected).toEqual(['load', 'report']);
    await draw({ selected: 'scale' });
    expect(node('scale').getAttribute('data-selected')).toBe('true');
    expect(node('load').getAttribute('data-selected')).toBeNull();
    const active = Array.from(container.querySelectorAll('[data-active="true"]')).map(
      e => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`
    );
    expect(active).toEqual(['load→scale', 'scale→report']);
  });

  it('gives the parameters of the run shown in the legend, marking those that differ', async () => {
    await draw();
    expect(container.querySelector('[data-legend="parameters"]')!.textContent).toBe('Parameters rate = 0.5');
    await draw({ run: { label: 'run #2', parameters: { rate: '0.75' } } });
    const legend = container.querySelector('[data-legend="parameters"]')!;
    expect(legend.textContent).toBe('Parameters of run #2 rate = 0.75 (notebook 0.5)');
    expect(legend.querySelector('[data-parameter="rate"]')!.getAttribute('data-differs')).toBe('true');
  });
});
