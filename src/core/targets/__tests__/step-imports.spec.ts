import { runnableSteps } from '../runnable-steps';
import { runImports } from '../step-imports';
import { analyse, notebookOf } from './helpers';

async function importsOf(cells: Array<[string[], string]>): Promise<string[]> {
  const nb = notebookOf(cells);
  return runImports(runnableSteps(await analyse(nb), nb));
}

describe('the modules a warm Python imports before forking the steps', () => {
  it('are those the steps import, in notebook order, each once, with what `from` imports named, and `import a.b` as the module it imports', async () => {
    expect(
      await importsOf([
        [
          ['step:load'],
          'import pandas as pd\nimport os.path\nimport xml.etree.ElementTree\nfrom sklearn.linear_model import Ridge\ndf = pd.DataFrame()'
        ],
        [['step:plot', 'prev:load'], 'import matplotlib.pyplot as plt\nimport pandas as pd\nn = len(df)'],
        [['step:local', 'prev:plot'], 'from . import helpers\nfrom .helpers import f\nm = n']
      ])
    ).toEqual([
      'pandas',
      'os.path',
      'xml.etree.ElementTree',
      'sklearn.linear_model.Ridge',
      'matplotlib.pyplot'
    ]);
  });

  it('stop at the first cell that may change the environment, which libraries read when imported', async () => {
    expect(
      await importsOf([
        [['step:a'], 'import numpy as np\nx = 1'],
        [
          ['step:b', 'prev:a'],
          'import os\nos.environ["MPLBACKEND"] = "agg"\nimport matplotlib.pyplot as plt\ny = x'
        ],
        [['step:c', 'prev:b'], 'import seaborn as sns\nz = y']
      ])
    ).toEqual(['numpy']);
    expect(await importsOf([[['step:a'], '%env OMP_NUM_THREADS=1\nimport numpy as np\nx = 1']])).toEqual([]);
  });
});
