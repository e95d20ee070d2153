"""Run lineage through the CLI: `cellpipe runs --show`, `cellpipe diff`, `cellpipe run --like`."""

import json
import shutil
import subprocess

from .test_cli_analyze import write_notebook


def cli(cellpipe_cli, *args, cwd):
    return subprocess.run([cellpipe_cli, *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def notebook(path, calc="value = len(text) * p"):
    return write_notebook(
        path,
        [
            ("p = 1", ["pipeline-parameters"]),
            ("text = open('data.txt').read().strip()", ["step:load"]),
            (calc, ["step:calc", "prev:load"]),
            ("print(value)", ["pipeline-metrics"]),
        ],
    )


def run_json(cellpipe_cli, tmp_path, *args):
    result = cli(cellpipe_cli, "run", "nb.ipynb", "--json", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_lineage_is_shown_and_diffed_and_a_run_repeated_like_an_earlier_one(cellpipe_cli, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    (tmp_path / "data.txt").write_text("abc")
    a, _ = run_json(cellpipe_cli, tmp_path, "--param", "p=2")
    assert a["metrics"] == {"value": 6}
    record = json.loads((tmp_path / ".cellpipe" / "runs" / a["run"] / "run.json").read_text())
    lineage = record["lineage"]
    calc = lineage["steps"]["calc"]
    assert calc["parameters"] == {"p": {"type": "int", "value": 2}}
    assert calc["inputs"]["text"]["step"] == "load" and calc["inputs"]["text"]["run"] == a["run"]
    assert calc["inputs"]["text"]["hash"] == lineage["steps"]["load"]["outputs"]["text"]
    assert calc["program"].startswith("sha256:") and calc["program"] != lineage["steps"]["load"]["program"]
    assert lineage["workspace"]["hash"] == record["workspace"]
    assert lineage["environment"]["python"].count(".") == 2 and "ipykernel" in lineage["environment"]["packages"]

    shown = cli(cellpipe_cli, "runs", "--show", a["run"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"run {a['run']} of nb.ipynb: succeeded" in shown.stdout
    assert "parameter p = 2" in shown.stdout
    assert f"  input text from load ({calc['inputs']['text']['hash'][7:19]})" in shown.stdout

    # Another file content and code, same parameter: what changed is said by kind.
    (tmp_path / "data.txt").write_text("abcd")
    notebook(tmp_path / "nb.ipynb", calc="value = len(text) * p + 0")
    b, _ = run_json(cellpipe_cli, tmp_path, "--param", "p=2")
    assert b["metrics"] == {"value": 8}
    diff = cli(cellpipe_cli, "diff", a["run"], b["run"], cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.splitlines()[1:] == [
        "Code:",
        "  calc: the step program changed (its cells, or what it receives)",
        "Data:",
        f"  calc: input text (from load) changed: {calc['inputs']['text']['hash'][7:19]} → "
        + json.loads((tmp_path / ".cellpipe" / "runs" / b["run"] / "run.json").read_text())["lineage"]["steps"]["calc"]["inputs"]["text"]["hash"][7:19],
        "  workspace files changed: data.txt",
    ]
    as_json = json.loads(cli(cellpipe_cli, "diff", a["run"], b["run"], "--json", cwd=tmp_path).stdout)
    assert [c["kind"] for c in as_json["changes"]] == ["code", "data", "data"]

    # Like run a: its parameter and its workspace (data.txt as it was), with today's code.
    c, stderr = run_json(cellpipe_cli, tmp_path, "--like", a["run"])
    assert c["metrics"] == {"value": 6}
    record_c = json.loads((tmp_path / ".cellpipe" / "runs" / c["run"] / "run.json").read_text())
    assert record_c["lineage"]["like"] == a["run"] and record_c["parameters"]["p"]["value"] == 2
    assert record_c["workspace"] == record["workspace"]
    changes = cli(cellpipe_cli, "diff", a["run"], c["run"], cwd=tmp_path).stdout
    assert "Parameters:" not in changes and "workspace" not in changes and "calc: the step program changed" in changes
    # --param still wins over the earlier run's value.
    d, _ = run_json(cellpipe_cli, tmp_path, "--like", a["run"], "--param", "p=3")
    assert d["metrics"] == {"value": 9}

    # The snapshot's files are gone from the store: said, and the run sees the files as they are now.
    shutil.rmtree(tmp_path / ".cellpipe" / "objects")
    gone = cli(cellpipe_cli, "run", "nb.ipynb", "--like", a["run"], cwd=tmp_path)
    assert gone.returncode == 0, gone.stderr
    assert (
        f"cellpipe: warning: The workspace snapshot of run {a['run']} is gone (1 of 1 files are no longer in "
        ".cellpipe/objects: data.txt;" in gone.stderr
    )
    assert "value=8" in gone.stdout


def test_an_unknown_run_is_a_usage_error(cellpipe_cli, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    for args in (["runs", "--show", "nope"], ["diff", "a", "b"], ["run", "nb.ipynb", "--like", "nope"]):
        result = cli(cellpipe_cli, *args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert "no run" in result.stderr and "Traceback" not in result.stderr


def test_the_engine_records_the_hashes_the_runtime_took_after_each_step_warm_or_not(cellpipe_cli, tmp_path):
    from .test_runtime import rule_hash

    write_notebook(tmp_path / "nb.ipynb", [
        ("import numpy as np\nimport pandas as pd", ["imports"]),
        ("x = np.arange(50_000.0)\nframe = pd.DataFrame({'a': x * 2})", ["step:make"]),
        ("where = x.searchsorted(2)", ["step:look", "prev:make"]),  # x passed on unchanged
        ("print(x.sum(), where, frame['a'].sum())", ["step:end", "prev:look"]),
    ])
    hashes = {}
    for flags in ((), ("--no-warm",)):
        data, _ = run_json(cellpipe_cli, tmp_path, "--no-cache", *flags)
        run = tmp_path / ".cellpipe" / "runs" / data["run"]
        steps = json.loads((run / "run.json").read_text())["lineage"]["steps"]
        for step in ("make", "look"):
            saved = json.loads((run / "steps" / step / "saved.json").read_text())
            assert sorted(steps[step]["outputs"]) == sorted(saved)
            for name in saved:  # what the files hold, by the hash's definition
                assert steps[step]["outputs"][name] == rule_hash(run / "data" / step, name)
        assert sorted(steps["make"]["outputs"]) == ["frame", "x"]
        assert steps["look"]["outputs"]["x"] == steps["make"]["outputs"]["x"]  # the producer's hash
        assert steps["end"]["inputs"]["x"]["hash"] == steps["make"]["outputs"]["x"]
        hashes[flags] = {step: steps[step]["outputs"] for step in ("make", "look")}
    assert hashes[()] == hashes[("--no-warm",)]
