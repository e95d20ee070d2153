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


# --- the cluster targets, against the loopback cluster (server-proxy/test/cluster-fake.ts) ---------------

import os
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def fake_server_script(tmp_path_factory):
    """The loopback cluster bundled into one script for Node, as the jest suites import it."""
    out = tmp_path_factory.mktemp("fake") / "serve-cluster-fake.js"
    esbuild = REPO / "node_modules" / ".bin" / "esbuild"
    subprocess.run([str(esbuild), str(REPO / "server-proxy" / "test" / "serve-cluster-fake.ts"), "--bundle",
                    "--platform=node", "--log-level=warning", f"--outfile={out}"], check=True, timeout=300)
    return out


@pytest.fixture
def fake_cluster(fake_server_script, tmp_path):
    """Starts the loopback cluster with the given options; yields a kubeconfig for it."""
    started = []

    def start(**options):
        proc = subprocess.Popen(["node", str(fake_server_script), json.dumps(options)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        started.append(proc)
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        config = tmp_path / "kubeconfig"
        config.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster:\n    server: {url}\n    insecure-skip-tls-verify: true\n"
            "users:\n- name: me\n  user:\n    token: cli-token\n"
            "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\n    namespace: team-a\n"
            "current-context: fake\n")
        return config

    yield start
    for proc in started:
        proc.stdin.close()
        proc.wait(timeout=30)


def cluster_sweep(cli, path, config, *args):
    env = {**os.environ, "CELLPIPE_POLL_MS": "10", "KUBECONFIG": "", "CELLPIPE_POD_NAME": ""}
    return subprocess.run([cli, "sweep", str(path), "--kubeconfig", str(config), *args], capture_output=True,
                          text=True, timeout=900, env=env)


def five_steps_for_the_cluster(tmp_path):
    path = five_steps(tmp_path)
    nb = json.loads(Path(path).read_text())
    nb["metadata"]["cellpipe"] = {"namespace": "team-a", "image": "python:3.11"}
    Path(path).write_text(json.dumps(nb))
    return path


def test_argo_one_workflow_shares_two_steps_and_fans_out_three_per_trial(cellpipe_cli, fake_cluster, tmp_path):
    config = fake_cluster(productMetric="score")
    path = five_steps_for_the_cluster(tmp_path)
    result = cluster_sweep(cellpipe_cli, path, config, "--param", "a=1,2,3", "--param", "b=1,10",
                           "--objective", "score:max", "--target", "argo", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(result.stdout)
    assert record["target"] == "argo" and record["status"] == "succeeded"
    assert record["shared"] == ["load", "stats"]
    # The fake's score is a * b (what the trial was computed with): trial 6 (a=3 b=10) is best.
    assert [t["metrics"]["score"] for t in record["trials"]] == [a * b for a in (1, 2, 3) for b in (1, 10)]
    assert record["best"] == 5
    runs = runs_of(tmp_path, record)
    assert len(runs) == 6 and len({r["id"] for r in runs}) == 6
    # One Workflow for all: every trial's run names it; the shared steps are the same tasks in each.
    assert len({r["cluster"]["name"] for r in runs}) == 1
    tasks = [r["clusterTasks"] for r in runs]
    assert {t["load"] for t in tasks} == {"load"} and {t["stats"] for t in tasks} == {"stats"}
    for step in ("scale", "shift", "score"):
        assert sorted(t[step] for t in tasks) == [f"{step}-t{i}" for i in range(1, 7)]
    assert all(s["status"] == "succeeded" for r in runs for s in r["steps"].values())
    assert json.loads((tmp_path / ".cellpipe" / "sweeps" / f"{record['id']}.json").read_text()) == record


def test_argo_table_and_a_failed_trial(cellpipe_cli, fake_cluster, tmp_path):
    config = fake_cluster(productMetric="score", failTask="shift-t2")
    path = five_steps_for_the_cluster(tmp_path)
    result = cluster_sweep(cellpipe_cli, path, config, "--param", "a=1,2,3", "--param", "b=1,10",
                           "--objective", "score:max", "--target", "argo")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "a", "b", "status", "score", "run"]
    assert lines[2].split()[:4] == ["2", "1", "10", "failed"]
    assert lines[6].startswith("*") and lines[6].split()[1:6] == ["6", "3", "10", "succeeded", "30"]
    assert lines[-1] == "best: trial 6 (a=3 b=10), score highest"
    assert "trial 2 a=1 b=10 failed" in result.stderr
