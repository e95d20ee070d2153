"""Kubeflow Pipelines 2.17 on the lab (cluster/kfp, built from KFP's source), driven from a terminal of the
notebook server in namespace kubeflow as a user would: a notebook submitted as a KFP run computes what its
local run computes, its workspace snapshotted for the run and the snapshot gone after it; a recurring run
that KFP's ScheduledWorkflow controller fires, its run recorded like a submitted one, paused (KFP starts
nothing), resumed and deleted; a sweep whose trials are KFP runs, each with its metric, the best marked. KFP's
own answers are read from its REST API."""

import json
import time
import urllib.error
import urllib.request

from lab import (ROOT, cellpipe, comparable, counting_notebook, exists, fresh, items, kubectl, listed, run_record,
                 seconds_past_the_minute, step_log, step_outputs, wait)
from test_sweeps import best, five_steps, score

API = "http://10.88.0.1:8888/apis/v2beta1"


def kfp(path):
    """GET of KFP's REST API (from this machine; the api-server listens on the lab's bridge)."""
    with urllib.request.urlopen(f"{API}{path}", timeout=30) as res:
        return json.loads(res.read())


def local_run(folder, name, text):
    fresh(folder, name, text)
    done = cellpipe(folder, "run", name, "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_example_on_kfp_computes_what_its_local_run_computes():
    name = "numpy-montecarlo.ipynb"
    text = (ROOT / "examples" / name).read_text()
    local = local_run("e2e/kfp-local", name, text)
    folder = "e2e/kfp-run"
    fresh(folder, name, text)

    done = cellpipe(folder, "submit", name, "--target", "kfp", "--watch", "--json", "--timeout", "900", timeout=1000)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}\n{done.stdout}"
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded", result
    record = run_record(folder, result["run"])
    assert record["target"] == "kfp" and record["status"] == "succeeded"
    assert all(s["status"] == "succeeded" for s in record["steps"].values()), record["steps"]

    # KFP says the same: its run succeeded, one task per step.
    run = kfp(f"/runs/{record['cluster']['id']}")
    assert run["state"] == "SUCCEEDED", run.get("error")
    # (KFP also lists nameless records of the drivers' executions)
    tasks = {t.get("display_name") for t in run["run_details"]["task_details"]}
    assert set(record["clusterTasks"].values()) <= tasks, (record["clusterTasks"], tasks)

    # The workspace PVC was snapshotted for the run, and the snapshot is gone with the run's end.
    [snap] = [s for s in record["snapshots"] if s.get("snapshot")]
    assert snap["claim"] == "nb-workspace"
    wait("the run's snapshot to be deleted",
         lambda: snap["snapshot"] not in [s["metadata"]["name"] for s in items("volumesnapshots")], timeout=120)

    # Same metrics and step outputs as the local run; each step's log is what it printed.
    assert record["metrics"] and record["metrics"] == local["metrics"]
    for step in record["order"]:
        outputs = step_outputs(folder, record["id"], step)
        assert comparable(outputs) == comparable(step_outputs("e2e/kfp-local", local["run"], step)), step
        log = step_log(folder, record["id"], step)
        for outs in outputs.values():
            for out in outs:
                if out.get("output_type") == "stream":
                    assert out["text"] in log, (step, log)


NB = counting_notebook("kfp-every-minute")


def fired(recurring_id, experiment_id):
    """The KFP runs the recurring run started, oldest first."""
    runs = kfp(f"/runs?experiment_id={experiment_id}&page_size=100").get("runs", [])
    return sorted((r for r in runs if r.get("recurring_run_id") == recurring_id), key=lambda r: r["created_at"])


def test_a_recurring_run_fires_on_kfp_its_run_is_recorded_and_it_is_paused_resumed_deleted():
    folder, name = "e2e/kfp-schedule", "e2e-kfp-every-minute"
    fresh(folder, "nb.ipynb", NB)
    view = None
    try:
        made = cellpipe(folder, "schedule", "nb.ipynb", "--cron", "* * * * *", "--target", "kfp", "--name", name,
                        "--param", "n=5", "--json")
        assert made.returncode == 0, made.stderr
        view = json.loads(made.stdout)
        assert view["target"] == "kfp" and view["timezone"] == "UTC" and not view["paused"]
        recurring_id, experiment_id = view["cluster"]["id"], view["cluster"]["experimentId"]

        # What KFP holds: an enabled recurring run of the uploaded pipeline version, every minute.
        rr = kfp(f"/recurringruns/{recurring_id}")
        assert rr["status"] == "ENABLED" and rr["display_name"] == name
        assert rr["trigger"]["cron_schedule"]["cron"].split()[1:] == ["*"] * 5
        assert rr["pipeline_version_reference"]["pipeline_version_id"] == view["cluster"]["versionId"]
        [snap] = [s["snapshot"] for s in view["snapshots"] if s.get("snapshot")]

        # KFP's ScheduledWorkflow controller fires it within the minute; the run succeeds.
        [first] = wait("the recurring run's first run", lambda: fired(recurring_id, experiment_id), timeout=150,
                       every=5)[:1]
        wait(f"KFP run {first['run_id']} to end",
             lambda: kfp(f"/runs/{first['run_id']}")["state"] in ("SUCCEEDED", "FAILED", "CANCELED"), timeout=900,
             every=10)
        assert kfp(f"/runs/{first['run_id']}")["state"] == "SUCCEEDED"

        # `cellpipe runs` records it as a run of the notebook, as it ended: outputs, logs, metrics.
        def recorded():
            runs = cellpipe(folder, "runs", "nb.ipynb", "--json")
            assert runs.returncode == 0, runs.stderr
            return [r for r in json.loads(runs.stdout)
                    if r.get("schedule") == name and r["cluster"]["id"] == first["run_id"] and r["status"] != "running"]

        [record] = wait("the fired run recorded as ended", recorded, timeout=180, every=10)
        assert record["target"] == "kfp" and record["status"] == "succeeded", record
        assert record["parameters"]["n"]["value"] == 5 and record["metrics"] == {"total": 10}, record
        assert "made [0, 1, 2, 3, 4]" in step_log(folder, record["id"], "make")
        assert any("total 10" in o.get("text", "") for outs in step_outputs(folder, record["id"], "total").values()
                   for o in outs)
        # The schedule's snapshot outlives the run: the next run restores from it too.
        assert snap in [s["metadata"]["name"] for s in items("volumesnapshots")]
        schedule = listed(folder, name)
        assert not schedule["paused"] and schedule["nextRun"] and schedule["lastRun"], schedule
        assert record["id"] in schedule["runs"]

        # Paused: KFP disables it and starts nothing while it is (waited past a minute's turn).
        paused = cellpipe(folder, "schedule", "nb.ipynb", "--pause", name)
        assert paused.returncode == 0, paused.stderr
        assert kfp(f"/recurringruns/{recurring_id}")["status"] == "DISABLED"
        schedule = listed(folder, name)
        assert schedule["paused"] and "nextRun" not in schedule, schedule
        time.sleep(5)
        count = len(fired(recurring_id, experiment_id))
        time.sleep(60 - seconds_past_the_minute() + 20)
        assert len(fired(recurring_id, experiment_id)) == count, "a paused recurring run started a run"

        # Resumed: it fires again. KFP 2.17 can lose a fire: right after a run ends, its ScheduledWorkflow
        # controller names the next Workflow like that run (its status lags) and takes "already exists" for
        # submitted (seen on the lab, paused or not), so allow for the minute after it too.
        resumed = cellpipe(folder, "schedule", "nb.ipynb", "--resume", name)
        assert resumed.returncode == 0, resumed.stderr
        assert kfp(f"/recurringruns/{recurring_id}")["status"] == "ENABLED"
        wait("a run after the resume", lambda: len(fired(recurring_id, experiment_id)) > count, timeout=240, every=5)

        # Deleted: the recurring run, its snapshot and its record; the runs it started stay.
        deleted = cellpipe(folder, "schedule", "nb.ipynb", "--delete", name)
        assert deleted.returncode == 0, deleted.stderr
        gone = urllib.request.Request(f"{API}/recurringruns/{recurring_id}")
        try:
            urllib.request.urlopen(gone, timeout=30)
            raise AssertionError("KFP still has the deleted recurring run")
        except urllib.error.HTTPError as err:
            assert err.code == 404, err
        wait("the schedule's snapshot to be gone",
             lambda: snap not in [s["metadata"]["name"] for s in items("volumesnapshots")], timeout=60)
        assert not exists(f"{folder}/.cellpipe/schedules/{name}.json")
        assert exists(f"{folder}/.cellpipe/runs/{record['id']}/run.json")
        assert kfp(f"/runs/{first['run_id']}")["state"] == "SUCCEEDED"
    finally:
        # Whatever failed above, KFP must not go on firing every minute.
        if view and view.get("cluster", {}).get("id"):
            req = urllib.request.Request(f"{API}/recurringruns/{view['cluster']['id']}", method="DELETE")
            try:
                urllib.request.urlopen(req, timeout=30)
            except urllib.error.HTTPError:
                pass
        kubectl("delete", "volumesnapshots", "-l", f"cellpipe.dev/schedule={name}", check=False)


def executor_pods(run_id):
    """The executor pods (`system-container-impl`, one per step that ran) of a KFP run's Workflow."""
    [workflow] = items("workflows", f"pipeline/runid={run_id}")
    pods = items("pods", f"workflows.argoproj.io/workflow={workflow['metadata']['name']}")
    return [p["metadata"]["name"] for p in pods if "-system-container-impl-" in p["metadata"]["name"]]


def test_a_sweep_on_kfp_is_a_run_per_trial_with_its_metric_and_the_best_marked():
    folder = "e2e/kfp-sweep"
    fresh(folder, "nb.ipynb", five_steps())
    done = cellpipe(folder, "sweep", "nb.ipynb", "--param", "a=1,2", "--objective", "score:max", "--target", "kfp",
                    "--json", timeout=1800)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "succeeded" and record["target"] == "kfp" and record["shared"] == []
    runs = [run_record(folder, t["run"]) for t in record["trials"]]
    for trial, run in zip(record["trials"], runs):
        a = trial["parameters"]["a"]["value"]
        assert run["status"] == "succeeded" and run["metrics"] == trial["metrics"] == {"score": score(a)}, run
        assert kfp(f"/runs/{run['cluster']['id']}")["state"] == "SUCCEEDED"
        assert "loaded 20" in step_log(folder, run["id"], "load")
    assert record["best"] == best(record["trials"]) == 1
    # Both ran all five steps, at once: KFP 2.17's cache key holds the names of the volumes a task mounts,
    # and each trial restores the workspace snapshot into a volume of its own, so no trial waits for another.
    assert [len(executor_pods(run["cluster"]["id"])) for run in runs] == [5, 5]
    first, second = (kfp(f"/runs/{run['cluster']['id']}") for run in runs)
    assert second["created_at"] < first["finished_at"]
