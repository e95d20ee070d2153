"""The pipeline computes what the notebook computes where state lives outside plain variables: functions
called in a later step than the one defining them (their globals), objects changed by method calls, the
global random generators, and whatever decides how an output looks. Each notebook below is run top to
bottom with nbclient and as a pipeline (every cell a step chained with prev:, as a Kale user tags it), and
every cell's stdout, text/plain result and image count must be the same."""

import json
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest

from . import corpus
from .test_cli_analyze import write_notebook


def chain(*sources):
    """Every cell a step, chained with prev:."""
    return [(s, ["step:s{}".format(i)] + (["prev:s{}".format(i - 1)] if i else [])) for i, s in enumerate(sources)]


def same_as_notebook(cli, tmp_path, cells):
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    (tmp_path / "pipeline").mkdir(exist_ok=True)
    analysis = subprocess.run([cli, "analyze", str(path), "--json"], capture_output=True, text=True, timeout=120)
    problems = [d for d in json.loads(analysis.stdout)["diagnostics"] if d["severity"] in ("error", "warning")]
    assert problems == []
    expected = corpus.run_notebook(path, tmp_path)
    views, status, errors = corpus.run_pipeline(cli, nbformat.read(path, as_version=4), tmp_path / "pipeline")
    assert (status, errors) == ("succeeded", {})
    for cell, view in expected.items():
        assert views.get(cell) == view, "cell {}".format(cell + 1)
    return views


NOTEBOOKS = {
    # 1. Functions defined in one step and called in a later one see the step's namespace.
    "function-globals": chain("x = 1", "def f():\n    return x + 1", "print(f())"),
    "function-uses-a-module": chain("import numpy as np\nx = 2", "def f():\n    return np.sqrt(x * 8)", "print(f())"),
    "functions-in-containers": chain(
        "offset = 10", "ops = {'add': lambda v: v + offset, 'neg': lambda v: -v - offset}\nfns = []",
        "def double(v):\n    return 2 * v + offset\nfns.append(double)",
        "print(ops['add'](1), ops['neg'](1), [f(3) for f in fns])"),
    "closures-and-decorators": chain(
        "import functools\nscale = 3",
        "def make(k):\n    def inner(v):\n        return v * k * scale\n    return inner\ntriple = make(1)",
        "def logged(fn):\n    @functools.wraps(fn)\n    def wrapper(*a):\n        return ('log', fn(*a), scale)\n"
        "    return wrapper\n@logged\ndef square(v):\n    return v * v\n@functools.lru_cache\ndef cube(v):\n"
        "    return v ** 3 + scale",
        "print(triple(2), square(4), cube(2), square.__name__)"),
    "classes-and-methods": chain(
        "rate = 0.5",
        "class Account:\n    def __init__(self):\n        self.items = []\n    def push(self, v):\n"
        "        self.items.append(v * rate)\n        return self\n    def total(self):\n        return sum(self.items)",
        "acc = Account().push(2)", "_ = acc.push(4)", "print(acc.total(), type(acc).__name__)"),
    # pickle refers to a notebook class by its name in __main__: pickled in one step (in memory or into a
    # file), loaded in a later one that does not name the class, and the same class a step receives.
    "pickled-notebook-classes": chain(
        "import pickle\nclass Point:\n    def __init__(self, x):\n        self.x = x\n    def norm(self):\n"
        "        return abs(self.x)",
        "blob = pickle.dumps(Point(-3))\nwith open('point.pkl', 'wb') as f:\n    pickle.dump(Point(5), f)",
        "q = pickle.loads(blob)\nwith open('point.pkl', 'rb') as f:\n    r = pickle.load(f)\n"
        "print(q.norm(), r.norm(), type(q).__qualname__, pickle.loads(pickle.dumps(r)).x)",
        "print(isinstance(q, Point), type(r) is Point)"),
    # A module a cell above imported is there for code whose names the analysis cannot see: a statsmodels
    # (patsy) formula and a pandas query name it in a string.
    "modules-named-in-strings": chain(
        "import numpy as np\nimport pandas as pd\nimport statsmodels.formula.api as smf\n"
        "df = pd.DataFrame({'x': np.arange(1., 9.), 'y': np.arange(8.) ** 2})",
        "res = smf.ols('y ~ np.log(x)', data=df).fit()\nprint(res.params.round(6).to_dict())",
        "print(len(df.query('x > @np.pi')))"),
    # 2. State changed by method calls reaches the steps below.
    "generator-objects": chain(
        "import numpy as np\nrng = np.random.default_rng(0)", "x = rng.normal()", "print(rng.normal(), x)"),
    "iterators-and-aliases": chain(
        "it = iter(range(10))\ndata = {'items': [1, 2]}", "first = next(it)\nitems = data['items']\nitems.append(3)",
        "print(next(it), first, data)"),
    "estimators-and-arguments": chain(
        "import numpy as np\nfrom sklearn.linear_model import SGDRegressor\nX = np.arange(40.).reshape(20, 2)\n"
        "y = X @ [1., 2.]\nmodel = SGDRegressor(random_state=0)",
        "model.partial_fit(X, y)", "def add_column(frame):\n    frame['c'] = frame['a'] * 2",
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\nadd_column(df)",
        "print(model.predict(X[:2]).round(6), df['c'].sum())"),
    # 3. The global random generators follow notebook order, library draws included.
    "global-random-state": chain(
        "import numpy as np\nimport random\nnp.random.seed(0)\nrandom.seed(1)", "a = np.random.rand(3)",
        "b = random.random()\nfrom sklearn.cluster import KMeans\nX = np.random.rand(30, 2)",
        "km = KMeans(n_clusters=3, n_init=1).fit(X)",  # random_state=None draws from numpy's global state
        "print(np.random.rand(), random.random(), round(km.inertia_, 8), a.sum(), b)"),
    # 4. Outputs look as in a Jupyter kernel, and display options set above apply below.
    "display": chain(
        "import pandas as pd\nimport numpy as np\nwide = pd.DataFrame({f'column_{i}': range(3) for i in range(30)})",
        "wide", "pd.set_option('display.max_columns', 5)\nnp.set_printoptions(precision=2)", "wide",
        "np.array([1/3, 2/3])", "%precision 3\n1/3", "1/7",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
        "%config InlineBackend.figure_formats = ['svg']", "fig, ax = plt.subplots()\nax.bar(['a'], [1]);",
        "import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')\nos.environ['CELLPIPE_TEST_VAR'] = 'set'",
        "print(os.path.basename(os.getcwd()), os.environ.get('CELLPIPE_TEST_VAR'))"),
    # 5. Interpreter state libraries keep: logging configured in one step logs in the later ones (and into
    # the cell that logs, also within a step), library settings (scikit-learn's config, NumPy's error state).
    "logging-configured-above": [
        ("import logging, sys\nlogging.basicConfig(level=logging.INFO, stream=sys.stdout, "
         "format='%(levelname)s %(name)s %(message)s')\nlog = logging.getLogger('nb')", ["step:s0"]),
        ("logging.info('same step')", []),
        ("logging.info('next step')\nlog.debug('hidden')\nlogging.getLogger('nb').setLevel(logging.DEBUG)",
         ["step:s1", "prev:s0"]),
        ("log.debug('shown')", ["step:s2", "prev:s1"])],
    # Calling a closure a factory made changes the state it closes over.
    "closure-state": chain(
        "def counter():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    return inc\n"
        "inc = counter()", "inc()", "print(inc())"),
    "library-settings": chain(
        "import sklearn, numpy as np\nsklearn.set_config(transform_output='pandas')\nold = np.seterr(divide='raise')",
        "from sklearn.preprocessing import StandardScaler\n"
        "print(type(StandardScaler().fit_transform(np.array([[1.], [3.]]))).__name__)",
        "try:\n    np.array([1.]) / 0\nexcept FloatingPointError as err:\n    print('raised', err)"),
}


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_pipeline_shows_what_the_notebook_shows(cellpipe_cli, tmp_path, name, step_processes):
    views = same_as_notebook(cellpipe_cli, tmp_path, NOTEBOOKS[name])
    assert any(v["stdout"] or v["result"] for v in views.values())


MODULE = "counter = 0\nlimits = {'low': 1}\n\ndef bump():\n    global counter\n    counter += 1\n    return counter\n"


def test_the_state_of_a_module_of_the_notebooks_folder_is_passed_on(cellpipe_cli, tmp_path, step_processes):
    """A module beside the notebook whose values its functions or the cells change: the later steps import
    it again and see the values as the step above left them, as the notebook's one kernel does."""
    for folder in (tmp_path, tmp_path / "pipeline"):
        folder.mkdir(exist_ok=True)
        (folder / "helpers.py").write_text(MODULE)
    views = same_as_notebook(cellpipe_cli, tmp_path, chain(
        "import helpers\nhelpers.bump()", "print(helpers.bump(), helpers.counter)",
        "helpers.counter = 10\nhelpers.limits['high'] = 5", "print(helpers.counter, helpers.limits)"))
    assert views[3]["stdout"] == "10 {'low': 1, 'high': 5}\n"


def test_timings_print_as_in_a_kernel(cellpipe_cli, tmp_path):
    """IPython writes "μs" and "±" for a stream that takes them, as a kernel's do; a step's too."""
    path = write_notebook(tmp_path / "nb.ipynb", chain("%timeit -n1 -r2 sum(range(3))", "%time x = 1"))
    data = run_json(cellpipe_cli, path)
    run = tmp_path / ".cellpipe" / "runs" / data["run"]
    timeit = json.loads((run / "steps" / "s0" / "outputs.json").read_text())["0"][0]["text"]
    assert "±" in timeit and "+-" not in timeit
    assert "μs" in json.loads((run / "steps" / "s1" / "outputs.json").read_text())["1"][0]["text"]


def test_figures_are_drawn_as_jupyter_draws_them(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", NOTEBOOKS["display"])
    (tmp_path / "p").mkdir()
    subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    [run] = (tmp_path / ".cellpipe" / "runs").iterdir()
    svg = json.loads((run / "steps" / "s9" / "outputs.json").read_text())["9"]
    assert [list(o["data"]) for o in svg if o["output_type"] == "display_data"] == [["image/svg+xml", "text/plain"]]
    wide = json.loads((run / "steps" / "s1" / "outputs.json").read_text())["1"][0]["data"]["text/plain"]
    assert "\\" in wide.splitlines()[0] and "column_29" in wide  # wrapped, as a kernel shows it


def run_json(cli, path):
    result = subprocess.run([cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    return json.loads(result.stdout)


def test_an_input_a_method_call_did_not_change_is_passed_on_not_saved_again(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", chain(
        "import numpy as np\nx = np.arange(5)", "where = x.searchsorted(2)", "print(x.sum(), where)"))
    data = run_json(cellpipe_cli, path)
    assert data["status"] == "succeeded"
    run = tmp_path / ".cellpipe" / "runs" / data["run"]
    saved = json.loads((run / "steps" / "s1" / "saved.json").read_text())
    assert saved["x"]["unchanged"] is True  # a maybe-change that was not one
    assert os.stat(run / "data" / "s1" / "x.npy").st_ino == os.stat(run / "data" / "s0" / "x.npy").st_ino


BRANCHES = [
    ("class Counter:\n    def __init__(self):\n        self.n = 0\n    def bump(self):\n        self.n += 1\n"
     "    def peek(self):\n        return self.n\ncounter = Counter()", ["step:make"]),
    ("counter.CALL()", ["step:left", "prev:make"]),
    ("print(counter.n)", ["step:right", "prev:make"]),
]


@pytest.mark.parametrize("call,changes", [("bump", True), ("peek", False)])
def test_a_change_a_parallel_step_would_miss_fails_the_run_and_says_why(cellpipe_cli, tmp_path, call, changes):
    cells = [(s.replace("CALL", call), t) for s, t in BRANCHES]
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    analysis = json.loads(subprocess.run([cellpipe_cli, "analyze", str(path), "--json"], capture_output=True,
                                         text=True, timeout=120).stdout)
    assert [d for d in analysis["diagnostics"] if d["severity"] != "info"] == []  # only a run can tell
    data = run_json(cellpipe_cli, path)
    steps = {s["name"]: s for s in data["steps"]}
    if changes:
        assert steps["left"]["status"] == "failed"
        message = steps["left"]["error"]["message"]
        assert 'changed "counter"' in message and "step right reads it" in message and "prev:left" in message
    else:
        assert data["status"] == "succeeded"


def test_parallel_draws_from_a_global_generator_are_a_warning_at_the_draw(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("import numpy as np\nnp.random.seed(0)", ["step:seed"]),
        ("a = np.random.rand()", ["step:left", "prev:seed"]),
        ("x = 1\nb = np.random.rand()", ["step:right", "prev:seed"]),
    ])
    analysis = json.loads(subprocess.run([cellpipe_cli, "analyze", str(path), "--json"], capture_output=True,
                                         text=True, timeout=120).stdout)
    [warning] = [d for d in analysis["diagnostics"] if d["severity"] == "warning"]
    assert (warning["code"], warning["cell"], warning["line"]) == ("random-state-order", 2, 2)
    assert "prev:left" in warning["message"]


# Without ipykernel (IPython's own shell) and without IPython (plain Python), a step still runs.
BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(name + ' is not installed here')
sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize("blocked", [("ipykernel",), ("ipykernel", "IPython", "matplotlib_inline")])
def test_steps_run_without_ipykernel_or_ipython(cellpipe_cli, tmp_path, blocked):
    path = write_notebook(tmp_path / "nb.ipynb", chain(
        "import random\nrandom.seed(3)\nx = 2", "def f():\n    return x * random.random()", "print(round(f(), 12))"))
    data = run_json(cellpipe_cli, path)
    assert data["status"] == "succeeded"
    run = tmp_path / ".cellpipe" / "runs" / data["run"]
    expected = json.loads((run / "steps" / "s2" / "outputs.json").read_text())["2"][0]["text"]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(BLOCK.format(blocked=set(blocked))))
    again = tmp_path / "again"
    env = dict(os.environ, PYTHONPATH=str(site))
    for step in ("s0", "s1", "s2"):
        result = subprocess.run([sys.executable, str(run / "programs" / (step + ".py")), str(again)],
                                capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
    assert json.loads((again / "steps" / "s2" / "outputs.json").read_text())["2"][0]["text"] == expected
