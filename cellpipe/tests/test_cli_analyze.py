"""`cellpipe analyze` on real notebooks, through the installed console script."""

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from .conftest import EXAMPLES, KALE_EXAMPLES, notebooks_in

EXAMPLE_NOTEBOOKS = notebooks_in(EXAMPLES)
KALE_NOTEBOOKS = notebooks_in(KALE_EXAMPLES, recursive=True)


def run(cli, *args):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=120)


def analyze_json(cli, path):
    result = run(cli, "analyze", str(path), "--json")
    return result, json.loads(result.stdout) if result.stdout else None


def tagged_edges(path):
    """The (upstream, step) pairs the prev: tags declare."""
    nb = nbformat.read(path, as_version=4)
    edges = set()
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        steps = [t.split(":", 1)[1] for t in tags if t.startswith(("step:", "block:")) and t.split(":", 1)[1]]
        if "skip" in tags or not steps:
            continue
        edges |= {(t.split(":", 1)[1], steps[0]) for t in tags if t.startswith("prev:")}
    return edges


@pytest.mark.parametrize("path", EXAMPLE_NOTEBOOKS + KALE_NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_analyse_without_errors_and_with_the_edges_their_tags_say(cellpipe_cli, path):
    result, data = analyze_json(cellpipe_cli, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [d for d in data["diagnostics"] if d["severity"] == "error"] == []
    assert set(data) >= {"pipeline", "steps", "parameters", "metrics", "diagnostics"}
    edges = {(dep, step["name"]) for step in data["steps"] for dep in step["deps"]}
    assert edges == tagged_edges(path)
    # every input comes from a step that runs before (upstream by prev:)
    names = {s["name"]: s for s in data["steps"]}
    for step in data["steps"]:
        for name in step["ins"]:
            assert name in names[step["sources"][name]]["outs"]


def test_the_examples_exist_and_are_tagged():
    assert len(EXAMPLE_NOTEBOOKS) >= 3
    for path in EXAMPLE_NOTEBOOKS:
        tags = {t for c in nbformat.read(path, as_version=4).cells for t in c.get("metadata", {}).get("tags", [])}
        assert "imports" in tags and "pipeline-metrics" in tags, path.name


def test_iris_example_passes_exactly_the_variables_each_step_needs(cellpipe_cli):
    _, data = analyze_json(cellpipe_cli, EXAMPLES / "iris-classifier.ipynb")
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["evaluate"]["ins"] == ["X_test", "forest", "logreg", "y_test"]
    assert steps["evaluate"]["sources"] == {
        "X_test": "split",
        "forest": "train_forest",
        "logreg": "train_logreg",
        "y_test": "split",
    }
    assert steps["train_logreg"]["outs"] == ["logreg"]
    assert data["parameters"]["test_size"] == {"type": "float", "value": 0.3}
    assert [(m["name"], m["step"]) for m in data["metrics"]] == [
        ("logreg_accuracy", "evaluate"),
        ("forest_accuracy", "evaluate"),
    ]
    assert steps["train_forest"]["settings"]["memory"] == {"request": "256Mi", "limit": "1Gi"}


def write_notebook(path: Path, cells):
    nb = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_a_missing_prev_is_an_error_pointing_at_cell_and_line(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "broken.ipynb",
        [("data = [1, 2, 3]", ["step:load"]), ("print('total')\ntotal = sum(data)", ["step:total"])],
    )
    result, data = analyze_json(cellpipe_cli, path)
    assert result.returncode == 1
    [diag] = [d for d in data["diagnostics"] if d["severity"] == "error"]
    assert (diag["code"], diag["cell"], diag["line"], diag["name"]) == ("missing-upstream", 1, 2, "data")
    assert data["suggestions"] == [{"from": "load", "to": "total", "names": ["data"], "cell": 1}]

    text = run(cellpipe_cli, "analyze", str(path))
    assert text.returncode == 1
    assert "broken.ipynb, cell 2, line 2: error [missing-upstream]" in text.stdout
    assert "add prev:load to step total" in text.stdout


@pytest.mark.parametrize(
    "content, why",
    [(None, "no such file"), ("not json", "not valid JSON"), ('{"nbformat": 4}', 'no "cells" list')],
)
def test_unusable_input_exits_2_with_one_line_naming_the_file(cellpipe_cli, tmp_path, content, why):
    path = tmp_path / "input.ipynb"
    if content is not None:
        path.write_text(content)
    result = run(cellpipe_cli, "analyze", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and why in lines[0]


def test_output_into_a_closed_pipe_ends_quietly(cellpipe_cli):
    """`cellpipe analyze NB --json | head -c 0`: the reader is gone before the first write; the command
    ends with its own status and no stack trace."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([cellpipe_cli, "analyze", str(EXAMPLES / "iris-classifier.ipynb"), "--json"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
