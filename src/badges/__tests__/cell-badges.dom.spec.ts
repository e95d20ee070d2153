/**
 * The badges on the cells of a real NotebookPanel: each code cell's step, upstream steps, role and
 * problems, kept current with edits, new cells and the display setting; a click selects the step.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { CellBadges } from '../cell-badges';
import { openPipeline, until } from '../../__tests__/frontend-harness';

jest.setTimeout(60000);

const trans = nullTranslator.load('cellpipe');

describe('CellBadges', () => {
  it('shows each code cell’s step, role and problems, and follows edits, new cells and the display', async () => {
    const pipeline = await openPipeline([
      ['markdown', '# Title'],
      [['imports'], 'import math'],
      [['step:load'], 'xs = [1, 2]'],
      [[], 'xs.append(3)'],
      [['step:total'], 'total = sum(xs)']
    ]);
    const clicked: string[] = [];
    const badges = new CellBadges(pipeline, trans, step => clicked.push(step));
    badges.update();
    const text = () =>
      pipeline.panel.content.widgets.map(cell => {
        const badge = cell.node.querySelector<HTMLElement>('.jp-cellpipe-Badge');
        return badge && !badge.classList.contains('lm-mod-hidden') ? badge.textContent : null;
      });
    expect(text()).toEqual([null, 'imports', 'load', '↳ load', 'total · 1 error(s)']);

    // Tagging total's upstream step fixes the error; the badge follows the analysis.
    pipeline.pipeline.setRole(4, {
      kind: 'step',
      name: 'total',
      prev: ['load'],
      limits: {},
      annotations: {},
      labels: {}
    });
    await until(() => text()[4] === 'total · ← load', 5000, 'the badge to follow the edit');

    // A new code cell below total joins it.
    pipeline.panel.context.model.sharedModel.insertCell(5, { cell_type: 'code', source: 'print(total)' });
    await until(() => text()[5] === '↳ total', 5000, 'a badge on the new cell');

    badges.display = 'compact';
    expect(text()[4]).toBe('total');
    badges.display = 'off';
    expect(text().every(t => t === null)).toBe(true);
    badges.display = 'full';

    const badge = pipeline.panel.content.widgets[3].node.querySelector<HTMLElement>('.jp-cellpipe-Badge')!;
    badge.click();
    expect(clicked).toEqual(['load']);
    pipeline.dispose();
  });
});
