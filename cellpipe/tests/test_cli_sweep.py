"""`cellpipe sweep`: one run per trial, the steps every trial shares run once, the best trial marked."""

import json
import subprocess

from .test_cli_analyze import write_notebook


def sweep(cli, path, *args):
    return subprocess.run([cli, "sweep", str(path), *args], capture_output=True, text=True, timeout=900)


def five_steps(tmp_path, fail_shared=False):
    return write_notebook(
        tmp_path / "sweep.ipynb",
        [
            ("n = 20\na = 1\nb = 0", ["pipeline-parameters"]),
            ("data = [i * i for i in range(n)]", ["step:load"]),
            ("total = sum(data)" + ("\nraise ValueError('no data')" if fail_shared else ""), ["step:stats", "prev:load"]),
            ("scaled = total * a", ["step:scale", "prev:stats"]),
            ("shifted = scaled + b", ["step:shift", "prev:scale"]),
            ("score = -abs(shifted - 5000)", ["step:score", "prev:shift"]),
            ("print(score)", ["pipeline-metrics"]),
        ],
    )


def runs_of(tmp_path, sweep_record):
    return [json.loads((tmp_path / ".cellpipe" / "runs" / t["run"] / "run.json").read_text())
            for t in sweep_record["trials"] if "run" in t]


def test_a_grid_runs_each_trial_and_the_shared_steps_once(cellpipe_cli, tmp_path):
    path = five_steps(tmp_path)
    result = sweep(cellpipe_cli, path, "--param", "a=1,2,3", "--param", "b=0,100",
                   "--objective", "score:max", "--max-parallel", "2", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded"
    assert record["shared"] == ["load", "stats"]
    assert [t["label"] for t in record["trials"]] == [
        "a=1 b=0", "a=1 b=100", "a=2 b=0", "a=2 b=100", "a=3 b=0", "a=3 b=100"]
    # Each trial computed what the notebook computes with its values (sum of squares below 20 is 2470).
    assert [t["metrics"]["score"] for t in record["trials"]] == [
        -abs(2470 * a + b - 5000) for a in (1, 2, 3) for b in (0, 100)]
    assert record["best"] == 3 and record["trials"][3]["label"] == "a=2 b=100"
    runs = runs_of(tmp_path, record)
    assert len(runs) == 6 and all(r["status"] == "succeeded" for r in runs)
    # The shared steps ran in one trial only; the others took them from the cache.
    ran = {step: sum(not r["steps"][step]["cached"] for r in runs) for step in runs[0]["steps"]}
    assert ran["load"] == ran["stats"] == 1
    # scale reads only a: trials with the same a may take it from each other (when one ended first).
    assert 3 <= ran["scale"] <= 6
    # shift and score come after a step of each trial: they ran in every trial.
    assert ran["shift"] == ran["score"] == 6
    # The sweep is on disk beside the runs, as printed.
    assert json.loads((tmp_path / ".cellpipe" / "sweeps" / f"{record['id']}.json").read_text()) == record


def test_the_table_marks_the_best_trial(cellpipe_cli, tmp_path):
    path = five_steps(tmp_path)
    result = sweep(cellpipe_cli, path, "--param", "a=1,2", "--objective", "score:max")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "a", "status", "score", "run"]
    assert lines[2].startswith("*") and lines[2].split()[1:4] == ["2", "2", "succeeded"]
    assert "best: trial 2 (a=2), score highest" in result.stdout
    assert "run once for all of them: load, stats" in result.stderr


def test_a_failed_shared_step_stops_the_sweep_after_the_first_trial(cellpipe_cli, tmp_path):
    path = five_steps(tmp_path, fail_shared=True)
    result = sweep(cellpipe_cli, path, "--param", "a=1,2,3", "--json")
    assert result.returncode == 1
    record = json.loads(result.stdout)
    assert [t["status"] for t in record["trials"]] == ["failed", "not-run", "not-run"]
    assert record["trials"][1]["reason"] == "the shared step stats did not succeed in the first trial"
    assert len(runs_of(tmp_path, record)) == 1


def test_bad_sweeps_are_usage_errors_naming_the_notebook(cellpipe_cli, tmp_path):
    path = five_steps(tmp_path)
    result = sweep(cellpipe_cli, path, "--param", "a=1..5")
    assert result.returncode == 2
    assert "sweep.ipynb: --param a: a range is for random search; add --random N" in result.stderr
    result = sweep(cellpipe_cli, path, "--param", "a=1,x")
    assert result.returncode == 2 and "--param a=x: expected an int" in result.stderr
    assert not (tmp_path / ".cellpipe" / "sweeps").exists()


def test_random_search_draws_from_ranges_reproducibly(cellpipe_cli, tmp_path):
    path = five_steps(tmp_path)
    first = json.loads(sweep(cellpipe_cli, path, "--param", "a=1..4", "--param", "b=0,1",
                             "--random", "3", "--seed", "5", "--json").stdout)
    again = json.loads(sweep(cellpipe_cli, path, "--param", "a=1..4", "--param", "b=0,1",
                             "--random", "3", "--seed", "5", "--json").stdout)
    assert [t["label"] for t in first["trials"]] == [t["label"] for t in again["trials"]]
    assert len({t["label"] for t in first["trials"]}) == 3
    assert all(1 <= t["parameters"]["a"]["value"] <= 4 for t in first["trials"])
    # Run again, every step of every trial comes from the cache.
    assert all(all(s["cached"] for s in r["steps"].values()) for r in runs_of(tmp_path, again))
