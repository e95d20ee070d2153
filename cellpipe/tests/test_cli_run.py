"""`cellpipe run` with the local engine: the pipeline computes what the notebook computes."""

import json
import os
import re
import shutil
import subprocess
import threading
import time

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import EXAMPLES, notebooks_in
from .test_cli_analyze import write_notebook


def run(cli, path, *args):
    return subprocess.run([cli, "run", str(path), *args], capture_output=True, text=True, timeout=600)


def notebook_metrics(path, workdir):
    """The metrics a top-to-bottom execution of the notebook prints."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    [cell] = [c for c in nb.cells if "pipeline-metrics" in c.get("metadata", {}).get("tags", [])]
    names = [line.strip()[len("print("):-1] for line in cell.source.strip().splitlines()]
    values = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").split()
    return dict(zip(names, values))


@pytest.mark.parametrize("name", [p.name for p in notebooks_in(EXAMPLES)])
def test_the_pipeline_computes_what_the_notebook_computes(cellpipe_cli, tmp_path, name):
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    result = run(cellpipe_cli, path, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "succeeded"
    assert all(s["status"] == "succeeded" for s in data["steps"])
    expected = notebook_metrics(path, tmp_path)
    assert {k: repr(v) if isinstance(v, str) else str(v) for k, v in data["metrics"].items()} == expected
    run_dir = tmp_path / ".cellpipe" / "runs" / data["run"]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "succeeded"


def test_parameter_overrides_change_the_result(cellpipe_cli, tmp_path):
    path = tmp_path / "sales.ipynb"
    shutil.copy(EXAMPLES / "pandas-sales.ipynb", path)
    data = json.loads(run(cellpipe_cli, path, "--json", "--param", "n_rows=200").stdout)
    assert data["metrics"]["rows_kept"] == 196  # every 50th of 200 rows had no units


def test_a_bad_parameter_is_a_usage_error(cellpipe_cli, tmp_path):
    path = tmp_path / "sales.ipynb"
    shutil.copy(EXAMPLES / "pandas-sales.ipynb", path)
    result = run(cellpipe_cli, path, "--param", "n_rows=many")
    assert result.returncode == 2
    assert "n_rows=many: expected an int" in result.stderr


def test_a_failing_step_skips_its_downstream_and_says_where_it_failed(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "fails.ipynb",
        [
            ("xs = [1, 2, 3]", ["step:load"]),
            ("total = sum(xs)\nratio = total / 0", ["step:divide", "prev:load"]),
            ("print(ratio)", ["step:show", "prev:divide"]),
            ("other = len(xs)", ["step:side", "prev:load"]),
        ],
    )
    result = run(cellpipe_cli, path, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["status"] == "failed"
    assert {s["name"]: s["status"] for s in data["steps"]} == {
        "load": "succeeded",
        "divide": "failed",
        "show": "skipped",
        "side": "succeeded",
    }
    record = json.loads((tmp_path / ".cellpipe" / "runs" / data["run"] / "run.json").read_text())
    assert record["steps"]["divide"]["error"] == {
        "message": "cell 2, line 2 raised ZeroDivisionError: division by zero",
        "cell": 1,
        "line": 2,
    }
    assert record["steps"]["show"]["skippedBecause"] == "divide"
    log = (tmp_path / ".cellpipe" / "runs" / data["run"] / "logs" / "divide.log").read_text()
    assert "ZeroDivisionError" in log


def test_a_traceback_names_the_notebook_cells_and_shows_their_lines(cellpipe_cli, tmp_path):
    # The function that raises was defined in the step above: its frame is that cell's, with its source.
    path = write_notebook(
        tmp_path / "fails.ipynb",
        [
            ("def ratio(a, b):\n    scale = 2\n    return a / b * scale", ["step:define"]),
            ("xs = [1, 2]\ntotal = ratio(sum(xs), 0)", ["step:use", "prev:define"]),
        ],
    )
    data = json.loads(run(cellpipe_cli, path, "--json").stdout)
    run_dir = tmp_path / ".cellpipe" / "runs" / data["run"]
    error = json.loads((run_dir / "steps" / "use" / "error.json").read_text())
    assert (error["cell"], error["line"]) == (1, 2)
    text = "".join(error["traceback"])
    assert text.startswith('Traceback (most recent call last):\n  File "<cell 2 (step use)>", line 2, in <module>\n'
                           "    total = ratio(sum(xs), 0)\n")
    assert '  File "<cell 1 (step define)>", line 3, in ratio\n    return a / b * scale\n' in text
    # The log and the cell's error output (what the run view shows) read as Jupyter's traceback.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", (run_dir / "logs" / "use.log").read_text())
    outputs = json.loads((run_dir / "steps" / "use" / "outputs.json").read_text())
    [shown] = [o for o in outputs["1"] if o["output_type"] == "error"]
    for text in (plain, re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(shown["traceback"]))):
        assert "Cell 2 (step use), line 2\n      1 xs = [1, 2]\n----> 2 total = ratio(sum(xs), 0)\n" in text
        assert "Cell 1 (step define), line 3, in ratio(a, b)\n" in text
        assert "----> 3     return a / b * scale\n" in text
        assert "dynamic" not in text


def test_a_notebook_with_error_diagnostics_does_not_run(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "broken.ipynb", [("a = 1", ["step:one"]), ("b = a", ["step:two"])])
    result = run(cellpipe_cli, path)
    assert result.returncode == 1
    assert "missing-upstream" in result.stderr and "fix the errors above first" in result.stderr
    assert not (tmp_path / ".cellpipe").exists()


def test_runs_lists_earlier_runs_and_logs_prints_a_step_log(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "hello.ipynb", [("print('hello from the step')\nx = 1", ["step:greet"])])
    first = json.loads(run(cellpipe_cli, path, "--json").stdout)
    listed = subprocess.run([cellpipe_cli, "runs", str(path), "--json"], capture_output=True, text=True, check=True)
    assert [r["id"] for r in json.loads(listed.stdout)] == [first["run"]]
    logs = subprocess.run(
        [cellpipe_cli, "logs", first["run"], "greet", "--notebook", str(path)], capture_output=True, text=True
    )
    assert logs.returncode == 0 and "hello from the step" in logs.stdout


def test_interrupting_a_run_cancels_it(cellpipe_cli, tmp_path):
    import signal
    import time

    path = write_notebook(
        tmp_path / "slow.ipynb",
        [("import time\ntime.sleep(60)\nx = 1", ["step:slow"]), ("y = x", ["step:after", "prev:slow"])],
    )
    process = subprocess.Popen([cellpipe_cli, "run", str(path), "--json"], stdout=subprocess.PIPE, text=True)
    runs = tmp_path / ".cellpipe" / "runs"
    deadline = time.time() + 60
    while time.time() < deadline:
        records = list(runs.glob("*/run.json")) if runs.exists() else []
        if records and json.loads(records[0].read_text())["steps"]["slow"]["status"] == "running":
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    data = json.loads(out)
    assert data["status"] == "cancelled"
    assert {s["name"]: s["status"] for s in data["steps"]} == {"slow": "cancelled", "after": "cancelled"}


def cached_steps(cli, path, *args):
    data = json.loads(run(cli, path, "--json", *args).stdout)
    assert data["status"] == "succeeded"
    return {s["name"]: s["cached"] for s in data["steps"]}, data["metrics"]


def test_unchanged_steps_are_reused_and_changes_rerun_what_they_reach(cellpipe_cli, tmp_path):
    path = tmp_path / "mc.ipynb"
    shutil.copy(EXAMPLES / "numpy-montecarlo.ipynb", path)
    first, metrics = cached_steps(cellpipe_cli, path)
    assert not any(first.values())

    again, same = cached_steps(cellpipe_cli, path)
    assert all(again.values()) and same == metrics

    # Editing the `count` step reruns it and the step below it, not the samples above.
    nb = nbformat.read(path, as_version=4)
    [cell] = [c for c in nb.cells if "step:count" in c.metadata.get("tags", [])]
    cell.source += "\n# edited"
    nbformat.write(nb, path)
    edited, _ = cached_steps(cellpipe_cli, path)
    assert edited == {"sample_a": True, "sample_b": True, "count": False, "estimate": False}

    # A parameter the run sets differently reruns the steps that read it and the steps below them:
    # all of them here (both samples read the seed).
    changed, _ = cached_steps(cellpipe_cli, path, "--param", "seed=3")
    assert not any(changed.values())

    # A new file in the notebook's folder may be read by any step: everything reruns.
    (tmp_path / "extra.csv").write_text("a,b\n1,2\n")
    after_file, _ = cached_steps(cellpipe_cli, path)
    assert not any(after_file.values())

    no_cache, _ = cached_steps(cellpipe_cli, path, "--no-cache")
    assert not any(no_cache.values())


def test_changing_a_parameter_reruns_only_the_steps_that_read_it(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "params.ipynb",
        [
            ("gamma = 0.5\ntest_size = 0.2", ["pipeline-parameters"]),
            ("def scaled(x):\n    return x * gamma", ["functions"]),
            ("data = list(range(10))", ["step:load"]),
            ("cut = int(len(data) * (1 - test_size))\ntrain = data[:cut]", ["step:split", "prev:load"]),
            ("model = [scaled(x) for x in train]", ["step:fit", "prev:split"]),
            ("total = sum(data)", ["step:other", "prev:load"]),
        ],
    )
    cached_steps(cellpipe_cli, path)
    # fit reads gamma through scaled(); nothing else reads it.
    gamma, _ = cached_steps(cellpipe_cli, path, "--param", "gamma=2.0")
    assert gamma == {"load": True, "split": True, "fit": False, "other": True}
    # split reads test_size, and fit is below it.
    size, _ = cached_steps(cellpipe_cli, path, "--param", "gamma=2.0", "--param", "test_size=0.5")
    assert size == {"load": True, "split": False, "fit": False, "other": True}


def test_run_one_step_or_from_a_step_reusing_the_steps_above(cellpipe_cli, tmp_path):
    path = tmp_path / "mc.ipynb"
    shutil.copy(EXAMPLES / "numpy-montecarlo.ipynb", path)
    cached_steps(cellpipe_cli, path)  # a full run fills the cache

    one, _ = cached_steps(cellpipe_cli, path, "--step", "count")
    assert one == {"sample_a": True, "sample_b": True, "count": False}

    below, metrics = cached_steps(cellpipe_cli, path, "--from", "count")
    assert below == {"sample_a": True, "sample_b": True, "count": False, "estimate": False}
    assert set(metrics) == {"pi_estimate", "error"}

    unknown = run(cellpipe_cli, path, "--step", "nope")
    assert unknown.returncode == 2 and 'no step "nope"' in unknown.stderr


def test_steps_run_on_the_python_of_the_notebook_kernel_spec(cellpipe_cli, tmp_path):
    import os
    import sys

    # A kernel spec whose Python is a wrapper that marks the processes it starts.
    spec = tmp_path / "jupyter" / "kernels" / "marked"
    spec.mkdir(parents=True)
    wrapper = tmp_path / "marked-python"
    wrapper.write_text(f'#!/bin/sh\nCELLPIPE_TEST_MARK=marked exec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": [str(wrapper), "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "Marked", "language": "python"}
    ))
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path / "jupyter")}

    def mark(kernel):
        path = write_notebook(tmp_path / f"{kernel}.ipynb", [("import os\nmark = os.environ.get('CELLPIPE_TEST_MARK', 'none')", ["step:probe"]), ("print(mark)", ["pipeline-metrics"])])
        nb = nbformat.read(path, as_version=4)
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        nbformat.write(nb, path)
        out = subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, env=env, timeout=300)
        return json.loads(out.stdout)["metrics"]["mark"]

    assert mark("marked") == "marked"
    assert mark("python3") == "none"  # the native kernel: the Python Jupyter runs on


def test_a_file_written_all_through_the_snapshot_is_named_in_the_runs_warnings(cellpipe_cli, tmp_path):
    """A training log appended to while Run is pressed: the run goes ahead, and says the steps may see part of
    a write to it."""
    log = tmp_path / "train.log"
    log.write_bytes(os.urandom(64 << 20))
    path = write_notebook(tmp_path / "live.ipynb", [("size = len(open('train.log', 'rb').read())", ["step:read"])])
    stop = threading.Event()

    def append():
        while not stop.is_set():
            with open(log, "a") as f:
                f.write("epoch done\n")
            time.sleep(0.002)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        result = run(cellpipe_cli, path, "--json", "--no-cache")
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [warning] = [w for w in data["warnings"] if "train.log" in w]
    assert warning.startswith("train.log was being written while the workspace was snapshotted")
    record = json.loads((tmp_path / ".cellpipe" / "runs" / data["run"] / "run.json").read_text())
    assert warning in record["warnings"]


def test_steps_work_in_a_snapshot_and_cannot_clobber_the_users_files(cellpipe_cli, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "input.txt").write_text("original")
    (tmp_path / "other.csv").write_text("a,b\n")
    path = write_notebook(
        tmp_path / "files.ipynb",
        [
            ("text = open('data/input.txt').read()\n"
             "with open('data/input.txt', 'w') as f:\n    f.write('changed by the step')\n"
             "open('made-by-step.txt', 'w').write('new')", ["step:write"]),
            ("seen = open('data/input.txt').read() + '|' + open('made-by-step.txt').read()", ["step:read", "prev:write"]),
            ("print(text)\nprint(seen)", ["pipeline-metrics"]),
        ],
    )
    first = json.loads(run(cellpipe_cli, path, "--json", "--no-cache").stdout)
    # Within the run, steps see each other's files, as in the notebook...
    assert first["metrics"] == {"text": "original", "seen": "changed by the step|new"}
    # ...but the user's folder is untouched.
    assert (tmp_path / "data" / "input.txt").read_text() == "original"
    assert not (tmp_path / "made-by-step.txt").exists()
    run_dir = tmp_path / ".cellpipe" / "runs" / first["run"]
    assert (run_dir / "workspace" / "made-by-step.txt").read_text() == "new"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["snapshot"]["files"] == 2 and record["snapshot"]["copied"] == 2
    assert record["snapshot"]["changedInPlace"] == ["data/input.txt"]

    # The next run starts from the user's files again, and copies only what the last run spoiled.
    second = json.loads(run(cellpipe_cli, path, "--json", "--no-cache").stdout)
    assert second["metrics"]["text"] == "original"
    record = json.loads((tmp_path / ".cellpipe" / "runs" / second["run"] / "run.json").read_text())
    assert record["snapshot"]["copied"] == 1  # other.csv was already in the store

    third = json.loads(run(cellpipe_cli, path, "--json", "--no-cache").stdout)
    record = json.loads((tmp_path / ".cellpipe" / "runs" / third["run"] / "run.json").read_text())
    assert record["snapshot"]["copied"] == 1 and record["workspace"] == json.loads(
        (tmp_path / ".cellpipe" / "runs" / first["run"] / "run.json").read_text())["workspace"]
