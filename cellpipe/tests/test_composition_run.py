"""Notebooks that run other notebooks (Kale 2.x `notebook:` cells), through the real `cellpipe` command:
the sub-pipelines run, parameters are passed down by name, the children's metrics are the run's, and the
result is what the notebooks compute when run one after the other in one kernel."""

import ast
import json
import shutil
import subprocess

import nbformat
from nbclient import NotebookClient

from .conftest import EXAMPLES


def run(cli, path, *args):
    return subprocess.run([cli, "run", str(path), *args], capture_output=True, text=True, timeout=600)


def write(path, cells, kale=None):
    """A notebook of code cells (tags, source[, notebook_path]) with Kale 2.x metadata."""
    nb = nbformat.v4.new_notebook()
    for tags, source, *ref in cells:
        metadata = {"tags": tags}
        if ref:
            metadata["notebook_path"] = ref[0]
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata=metadata))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kubeflow_notebook"] = {"experiment_name": "test", "volumes": [], **(kale or {})}
    nbformat.write(nb, path)
    return path


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def inlined(path, overrides=None, defined=()):
    """The cells a top-to-bottom run of the composition executes: each notebook: cell replaced by the cells
    of the notebook it runs, whose pipeline-parameters lines for names set above are left out."""
    nb = nbformat.read(path, as_version=4)
    cells, metrics, names = [], [], set(defined)
    for cell in nb.cells:
        if cell.cell_type != "code" or "skip" in tags(cell):
            continue
        if any(t.startswith("notebook:") for t in tags(cell)):
            child_cells, child_metrics = inlined(path.parent / cell.metadata["notebook_path"], None, names)
            cells += child_cells
            metrics += child_metrics
            continue
        source = cell.source
        if "pipeline-parameters" in tags(cell):
            kept = []
            for line in source.splitlines():
                name = line.split("=")[0].strip()
                if overrides and name in overrides:
                    line = f"{name} = {overrides[name]!r}"
                if name not in names:
                    kept.append(line)
                names.add(name)
            source = "\n".join(kept)
        if "pipeline-metrics" in tags(cell):
            metrics += [line.strip()[len("print("):-1] for line in source.strip().splitlines()]
            continue
        cells.append(nbformat.v4.new_code_cell(source))
    return cells, metrics


def composition_metrics(path, workdir, overrides=None):
    """Every metric of the composition (its own and its notebooks'), as that one kernel computes them."""
    cells, metrics = inlined(path, overrides)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells + [nbformat.v4.new_code_cell("\n".join(f"print(repr({m}))" for m in metrics))]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream").split("\n")
    return {name: ast.literal_eval(value) for name, value in zip(metrics, printed)}


def test_the_composition_example_computes_what_its_notebooks_compute_one_after_the_other(cellpipe_cli, tmp_path):
    folder = tmp_path / "composition"
    shutil.copytree(EXAMPLES / "composition", folder)
    result = run(cellpipe_cli, folder / "forecast.ipynb", "--json", "--param", "seed=3")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert [s["name"] for s in data["steps"]] == ["data.generate", "data.split", "model.fit", "model.predict", "summary"]
    assert all(s["status"] == "succeeded" for s in data["steps"])
    # seed=3 from the command line reached make_series.ipynb, which declares seed too
    assert data["metrics"] == composition_metrics(folder / "forecast.ipynb", folder, {"seed": 3})
    assert set(data["metrics"]) == {"series_mean", "mae", "forecast_total"}
    run_dir = folder / ".cellpipe" / "runs" / data["run"]
    # a step of a sub-pipeline keeps its outputs and log like any other
    outputs = json.loads((run_dir / "steps" / "data.generate" / "outputs.json").read_text())
    assert "365 days" in "".join(o.get("text", "") for cell in outputs.values() for o in cell)
    assert (run_dir / "logs" / "model.predict.log").read_text().startswith("mean absolute error")


def kale_pair(folder):
    """A Kale 2.x composition: a root with its own parameters and step, running a producer and a consumer."""
    write(folder / "producer.ipynb", [
        (["pipeline-parameters"], "epochs = 3\nscale = 10"),
        (["step:load", "image:python:3.12-slim", "cache:disabled"], "raw = list(range(epochs))"),
        (["step:transform", "prev:load", "report:disabled", "secret:db:password:DB_PASSWORD"],
         "dataset = [x * scale for x in raw]"),
        (["pipeline-metrics"], "print(scale)"),
    ], {"pipeline_name": "producer", "steps_defaults": ["label:team:data", "cache:enabled"]})
    write(folder / "consumer.ipynb", [
        # math comes from main's imports cell, as it would in main's kernel
        (["step:consume"], "total = sum(dataset) + batch + math.floor(0.5)\nprint(total)"),
        (["pipeline-metrics"], "print(total)"),
    ], {"pipeline_name": "consumer"})
    return write(folder / "main.ipynb", [
        (["imports"], "import math"),
        (["pipeline-parameters"], "epochs = 7\nbatch = 100"),
        (["notebook:producer"], "# runs producer.ipynb", "./producer.ipynb"),
        (["notebook:consumer"], "", "consumer.ipynb"),
        (["step:final"], "final = total * 2\nprint(final)"),
        (["pipeline-metrics"], "print(final)"),
    ], {"pipeline_name": "main", "steps_defaults": ["image:python:3.12"]})


def test_a_kale_composition_runs_unchanged_with_parameters_passed_down_and_the_childrens_metrics(cellpipe_cli, tmp_path):
    main = kale_pair(tmp_path)
    result = run(cellpipe_cli, main, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert [s["name"] for s in data["steps"]] == [
        "producer.load", "producer.transform", "consumer.consume", "final"]
    # epochs=7 from main wins over the producer's 3; batch, which consumer reads undefined, comes from main
    expected = composition_metrics(main, tmp_path)
    assert expected == {"scale": 10, "total": sum(x * 10 for x in range(7)) + 100, "final": 2 * (210 + 100)}
    assert data["metrics"] == expected

    again = json.loads(run(cellpipe_cli, main, "--json", "--param", "epochs=4", "--param", "batch=1").stdout)
    assert again["metrics"] == composition_metrics(main, tmp_path, {"epochs": 4, "batch": 1})
    # cache:disabled (a Kale 2.x tag of the child's step) is honoured; the other steps of the child may be reused
    cached = {s["name"]: s["cached"] for s in json.loads(run(cellpipe_cli, main, "--json").stdout)["steps"]}
    assert cached["producer.load"] is False and cached["producer.transform"] is True


def test_one_sub_pipeline_runs_alone_and_its_steps_from_the_command_line(cellpipe_cli, tmp_path):
    main = kale_pair(tmp_path)
    data = json.loads(run(cellpipe_cli, main, "--json", "--step", "consumer").stdout)
    # the notebook step's own steps, with the steps above it that it needs
    assert [s["name"] for s in data["steps"]] == ["producer.load", "producer.transform", "consumer.consume"]
    assert data["status"] == "succeeded"
    bad = run(cellpipe_cli, main, "--step", "consumer.nope")
    assert bad.returncode == 2 and "consumer.consume" in bad.stderr


def test_a_cycle_of_notebooks_is_refused_naming_the_notebooks_and_the_cell(cellpipe_cli, tmp_path):
    write(tmp_path / "a.ipynb", [(["step:x"], "v = 1"), (["notebook:b"], "", "b.ipynb")])
    write(tmp_path / "b.ipynb", [(["notebook:a"], "", "./a.ipynb"), (["step:y"], "w = 2")])
    result = run(cellpipe_cli, tmp_path / "a.ipynb")
    assert result.returncode == 1
    line = next(l for l in result.stderr.splitlines() if "notebook-cycle" in l)
    assert line.startswith("a.ipynb, cell 2: error [notebook-cycle]")
    assert "a.ipynb → b.ipynb → a.ipynb" in line and "In b.ipynb, cell 1" in line
    assert not (tmp_path / ".cellpipe" / "runs").exists()


def test_a_missing_notebook_is_reported_at_its_cell(cellpipe_cli, tmp_path):
    path = write(tmp_path / "main.ipynb", [(["step:a"], "x = 1"), (["notebook:gone"], "", "lib/gone.ipynb")])
    result = subprocess.run([cellpipe_cli, "analyze", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "main.ipynb, cell 2: error [notebook-unreadable]" in result.stdout
    assert "lib/gone.ipynb" in result.stdout and "no such file" in result.stdout


def test_analyze_json_describes_the_sub_pipelines(cellpipe_cli, tmp_path):
    main = kale_pair(tmp_path)
    result = subprocess.run([cellpipe_cli, "analyze", str(main), "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    producer = steps["producer"]["notebook"]
    assert producer["passed"] == ["epochs"] and producer["provides"]["dataset"] == "transform"
    settings = {s["name"]: s["settings"] for s in producer["steps"]}
    # Kale 2.x tags and steps_defaults of the child, read
    assert settings["load"]["image"] == "python:3.12-slim" and settings["load"]["caching"] is False
    assert settings["transform"]["report"] is False and settings["transform"]["caching"] is True
    assert settings["transform"]["secrets"] == [{"secret": "db", "key": "password", "env": "DB_PASSWORD"}]
    assert settings["transform"]["labels"] == {"team": "data"}
    assert steps["consumer"]["notebook"]["passed"] == ["batch"]
    assert steps["final"]["settings"]["image"] == "python:3.12"
    assert steps["final"]["deps"] == ["consumer"]
