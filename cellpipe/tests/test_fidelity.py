"""Fidelity: notebooks written for the scoping cases of the analysis give, as a local pipeline, the
metrics a top-to-bottom run of the same notebook gives. Each notebook mixes several cases, so a wrong
read, write, mutation or scope in the analysis shows up as a wrong number or a failed step."""

import ast
import json
import subprocess

import pytest

from .conftest import recorded_processes
from .test_cli_analyze import write_notebook
from .test_cli_run import notebook_metrics

NOTEBOOKS = {
    # A value mutated in a later step (append, item assignment, fit) must travel in its mutated state.
    "mutation": [
        ("import numpy as np\nfrom sklearn.linear_model import LinearRegression", ["imports"]),
        ("items = [1, 2]\ncounts = {'a': 1}\nX = np.arange(20, dtype=float).reshape(10, 2)", ["step:load"]),
        ("items.append(3)\ncounts['a'] += 1\nitems.sort()\nitems.reverse()", ["step:grow", "prev:load"]),
        ("y = X @ np.array([2.0, -1.0]) + 0.5\nmodel = LinearRegression()", ["step:prepare", "prev:load"]),
        ("model.fit(X, y)", ["step:train", "prev:prepare"]),
        (
            "first_item = items[0]\ncount_a = counts['a']\nintercept = round(float(model.intercept_), 6)",
            ["step:report", "prev:grow", "prev:train"],
        ),
        ("print(first_item)\nprint(count_a)\nprint(intercept)", ["pipeline-metrics"]),
    ],
    # Augmented assignment reads before it writes; the same name rebound in later steps; del.
    "rebinding": [
        ("n = 1\ntmp = 'scratch'\ntotal = 10", ["step:start"]),
        ("n += 1\ndel tmp", ["step:bump", "prev:start"]),
        ("n = n * 10\ntotal = total + n", ["step:scale", "prev:bump"]),
        ("final_n = n\nfinal_total = total", ["step:finish", "prev:scale"]),
        ("print(final_n)\nprint(final_total)", ["pipeline-metrics"]),
    ],
    # Comprehension variables stay in the comprehension; walrus and unpacking bind in the step.
    "comprehensions": [
        ("xs = list(range(10))\nw = 3\npairs = {'a': 1, 'b': 2}", ["step:data"]),
        (
            "x = 100\nscaled = [x * w for x in xs]\nweighted = {k: v * w for k, v in pairs.items()}\n"
            "big = [y for v in xs if (y := v * v) > 10]",
            ["step:transform", "prev:data"],
        ),
        ("a, (b, *c) = scaled[0], scaled[1:4]\nsum_c = sum(c) + b + a + x", ["step:unpack", "prev:transform"]),
        ("n_big = len(big)\nweighted_b = weighted['b']", ["step:count", "prev:transform"]),
        ("print(sum_c)\nprint(n_big)\nprint(weighted_b)", ["pipeline-metrics"]),
    ],
    # Functions read globals when they are called (deferred reads); classes and lambdas travel by value.
    "functions": [
        ("import math", ["imports"]),
        (
            "def scale(v):\n    return v * factor\n\n"
            "class Accumulator:\n    def __init__(self):\n        self.values = []\n"
            "    def add(self, v):\n        self.values.append(v)\n        return self\n"
            "    def total(self):\n        return sum(self.values)",
            ["functions"],
        ),
        ("factor = 4\nacc = Accumulator().add(1).add(2)\nsquare = lambda v: v * v", ["step:setup"]),
        ("scaled = scale(5)\nacc.add(math.floor(2.7))\nsquared = square(7)", ["step:use", "prev:setup"]),
        ("acc_total = acc.total()\nresult = scaled + squared", ["step:summarise", "prev:use"]),
        ("print(acc_total)\nprint(result)", ["pipeline-metrics"]),
    ],
    # IPython syntax runs in steps: %time, %%capture, !cmd with a binding; skip and untagged cells.
    "ipython": [
        ("base = 7", ["step:origin"]),
        ("%time doubled = base * 2\nwords = !echo alpha beta\nn_words = len(words[0].split())", ["step:magic", "prev:origin"]),
        ("debug = 'only in the notebook'", ["skip"]),
        ("%%capture captured\nprint('hidden')\ntripled = base * 3", ["step:capture", "prev:origin"]),
        ("captured_text = captured.stdout.strip()", []),
        (
            "score = doubled + tripled + n_words\ncaptured_len = len(captured_text)",
            ["step:combine", "prev:magic", "prev:capture"],
        ),
        ("print(score)\nprint(captured_len)", ["pipeline-metrics"]),
    ],
    # Arrays and frames a step below changes in place, one step reading from two (with warm Pythons, a step
    # below starts as a fork of its provider's process, holding the values in memory, and loads the rest).
    "arrays": [
        ("import numpy as np\nimport pandas as pd", ["imports"]),
        ("x = np.arange(5.0)\nunused = np.ones(3)", ["step:left"]),
        ("f = pd.DataFrame({'v': np.arange(3), 'w': np.ones(3)})", ["step:right"]),
        ("x *= 2\nf['v'] += 1\ntotal = float(x.sum()) + int(f['v'].sum())", ["step:both", "prev:left", "prev:right"]),
        ("again = float(x.sum()) + float(f['w'].sum())", ["step:after", "prev:both"]),
        ("print(total)\nprint(again)", ["pipeline-metrics"]),
    ],
    # pandas: item assignment and inplace calls mutate the frame; parameters are read by steps.
    "pandas": [
        ("import pandas as pd", ["imports"]),
        ("threshold = 2\nlabel = 'kept'", ["pipeline-parameters"]),
        ("df = pd.DataFrame({'a': [1, 2, None, 4], 'b': [5, 6, 7, 8]})", ["step:frame"]),
        ("df['c'] = df['b'] * 2\ndf.dropna(inplace=True)", ["step:clean", "prev:frame"]),
        (
            "kept = df[df['a'] > threshold]\nrows = len(kept)\nc_sum = int(kept['c'].sum())\ntag = label",
            ["step:filter", "prev:clean"],
        ),
        ("print(rows)\nprint(c_sum)\nprint(tag)", ["pipeline-metrics"]),
    ],
}


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_pipeline_computes_what_the_notebook_computes(cellpipe_cli, tmp_path, name, step_processes):
    path = write_notebook(tmp_path / f"{name}.ipynb", NOTEBOOKS[name])
    analysis = subprocess.run(
        [cellpipe_cli, "analyze", str(path), "--json"], capture_output=True, text=True, timeout=120
    )
    diagnostics = json.loads(analysis.stdout)["diagnostics"]
    assert [d for d in diagnostics if d["severity"] in ("error", "warning")] == []

    result = subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert recorded_processes(tmp_path) == step_processes
    expected = notebook_metrics(path, tmp_path)
    # Compared as values (JSON writes the float -1.0 as -1); print() shows a string without quotes.
    assert data["metrics"] == {k: v if k == "tag" else ast.literal_eval(v) for k, v in expected.items()}
