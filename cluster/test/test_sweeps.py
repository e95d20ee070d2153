"""Parameter sweeps on the real Argo (`cellpipe sweep --target argo` from the notebook pod's terminal): one
Workflow for every trial, the steps that read no swept parameter run once in it (counted in its pods),
every trial a run of its own with its metric, the best trial marked; a trial that fails leaves the others
running."""

import json
from collections import Counter
from datetime import datetime

from lab import cellpipe, fresh, no_leftovers, notebook, pod_nodes, run_record, step_log

#: The sum of squares below 20: what the shared steps compute.
TOTAL = sum(i * i for i in range(20))


def five_steps(scale="scaled = total * a", shift="shifted = scaled + b"):
    """A 5-step pipeline whose first two steps read neither swept parameter (`a`, `b`)."""
    return notebook(
        [
            (["imports"], "import time"),
            (["pipeline-parameters"], "n = 20\na = 1\nb = 0"),
            (["step:load"], "data = [i * i for i in range(n)]\nprint('loaded', len(data))"),
            (["step:stats", "prev:load"], "total = sum(data)"),
            (["step:scale", "prev:stats"], scale),
            (["step:shift", "prev:scale"], shift),
            (["step:score", "prev:shift"], "score = -abs(shifted - 5000)\nprint('score', score)"),
            (["pipeline-metrics"], "print(score)"),
        ],
        name="sweep",
    )


def score(a, b=0):
    """What the pipeline computes for a trial."""
    return -abs(TOTAL * a + b - 5000)


def best(trials):
    """The index of the succeeded trial with the highest score."""
    return max((i for i, t in enumerate(trials) if t["status"] == "succeeded"), key=lambda i: trials[i]["metrics"]["score"])


def sweep(folder, *params, objective="score:max"):
    done = cellpipe(folder, "sweep", "nb.ipynb", *[f for p in params for f in ("--param", p)],
                    "--objective", objective, "--target", "argo", "--json", timeout=1500)
    assert done.stdout.strip(), done.stderr
    return done, json.loads(done.stdout)


def pods_per_step(workflow):
    """How many step pods Argo ran per step template (one per task: a shared step's, or a trial's)."""
    return Counter(n["templateName"] for n in pod_nodes(workflow))


def ended_at(node):
    return datetime.fromisoformat(node["finishedAt"].replace("Z", "+00:00"))


def test_a_grid_is_one_workflow_whose_shared_steps_run_once():
    folder = "e2e/sweep-grid"
    fresh(folder, "nb.ipynb", five_steps())
    done, record = sweep(folder, "a=1,2,3", "b=0,100")
    assert done.returncode == 0, done.stderr
    assert record["status"] == "succeeded" and record["target"] == "argo"
    assert record["shared"] == ["load", "stats"]
    assert [t["label"] for t in record["trials"]] == [
        "a=1 b=0", "a=1 b=100", "a=2 b=0", "a=2 b=100", "a=3 b=0", "a=3 b=100"]

    # One Workflow: load and stats ran in one pod each, every other step in one pod per trial.
    workflow = record["cluster"]["name"]
    assert pods_per_step(workflow) == {"load": 1, "stats": 1, "scale": 6, "shift": 6, "score": 6}
    runs = [run_record(folder, t["run"]) for t in record["trials"]]
    assert {r["cluster"]["name"] for r in runs} == {workflow}

    # Every trial is a run of its own that computed what the notebook computes with its values.
    for trial, run in zip(record["trials"], runs):
        a, b = trial["parameters"]["a"]["value"], trial["parameters"]["b"]["value"]
        assert run["status"] == "succeeded", run
        assert run["metrics"] == trial["metrics"] == {"score": score(a, b)}, (trial, run)
        assert f"score {score(a, b)}" in step_log(folder, run["id"], "score")
        # Its shared steps are the Workflow's one pod each, their logs in every trial's run.
        assert "loaded 20" in step_log(folder, run["id"], "load")
    # The best trial is marked: a=2 b=100 comes closest to 5000.
    assert record["best"] == best(record["trials"]) == 3
    no_leftovers(record["id"])


def test_a_failing_trial_leaves_the_others_running():
    folder = "e2e/sweep-failing"
    # Trial a=2 fails in its first own step, while the others go on (and take a while doing so).
    fresh(folder, "nb.ipynb", five_steps(
        scale="if a == 2:\n    raise ValueError(f'no scale for a={a}')\nscaled = total * a",
        shift="time.sleep(15)\nshifted = scaled + b",
    ))
    done, record = sweep(folder, "a=1,2,3")
    assert done.returncode == 1, done.stderr
    assert record["status"] == "failed"
    assert [t["status"] for t in record["trials"]] == ["succeeded", "failed", "succeeded"]
    failed = run_record(folder, record["trials"][1]["run"])
    error = failed["steps"]["scale"]["error"]
    assert "ValueError: no scale for a=2" in error["message"] and (error["cell"], error["line"]) == (4, 2), error
    assert failed["steps"]["shift"]["status"] == failed["steps"]["score"]["status"] == "skipped", failed["steps"]

    # The others were not stopped by it: their steps ended after it failed, and succeeded.
    nodes = pod_nodes(record["cluster"]["name"])
    [failure] = [n for n in nodes if n["templateName"] == "scale" and n["phase"] != "Succeeded"]
    later = [n for n in nodes if n["templateName"] == "shift"]
    assert len(later) == 2 and all(n["phase"] == "Succeeded" and ended_at(n) > ended_at(failure) for n in later)
    assert [t["metrics"] for t in record["trials"] if t["status"] == "succeeded"] == [
        {"score": score(1)}, {"score": score(3)}]
    # The best of the trials that succeeded.
    assert record["best"] == best(record["trials"]) == 2
    no_leftovers(record["id"])
