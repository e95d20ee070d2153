"""Recurring runs on the real Argo: `cellpipe schedule --target argo` from the notebook pod's terminal makes
a CronWorkflow that Argo's cron controller fires; the run it starts is recorded like a submitted run and
succeeds with its outputs and metrics; `--list`, `--pause`, `--resume` and `--delete` do what they say on
the cluster, and the schedule's snapshot goes with it."""

import json
import time

from lab import (cellpipe, counting_notebook, exists, fresh, items, kget, kubectl, listed, no_leftovers,
                 seconds_past_the_minute, step_log, step_outputs, wait)

NB = counting_notebook("every-minute")
LABEL = "cellpipe.dev/schedule"


def started_by(name):
    """The Workflows the schedule's CronWorkflow started, oldest first."""
    return sorted(items("workflows", f"{LABEL}={name}"), key=lambda w: w["metadata"]["creationTimestamp"])


def test_a_schedule_fires_on_argo_its_run_is_recorded_and_it_is_paused_resumed_deleted():
    folder, name = "e2e/schedule", "e2e-every-minute"
    fresh(folder, "nb.ipynb", NB)
    try:
        made = cellpipe(folder, "schedule", "nb.ipynb", "--cron", "* * * * *", "--timezone", "Europe/Berlin",
                        "--target", "argo", "--name", name, "--param", "n=5", "--json")
        assert made.returncode == 0, made.stderr
        view = json.loads(made.stdout)
        assert view["target"] == "argo" and view["timezone"] == "Europe/Berlin" and not view["paused"]

        # The CronWorkflow Argo holds: the cron and zone as given, its workflow the pipeline's.
        cron = kget("cronworkflow", name)
        assert cron["spec"]["schedules"] == ["* * * * *"] and cron["spec"]["timezone"] == "Europe/Berlin"
        assert cron["spec"].get("suspend") is False
        assert {"make", "total"} <= {t["name"] for t in cron["spec"]["workflowSpec"]["templates"] if "container" in t}
        # The workspace was snapshotted once, now; every run restores from it.
        [snap] = [s["snapshot"] for s in view["snapshots"] if s.get("snapshot")]
        assert kget("volumesnapshot", snap)["status"]["readyToUse"] is True

        # Argo's cron controller fires it within the minute; the run succeeds on the cluster.
        [first] = wait("the schedule's first Workflow", lambda: started_by(name), timeout=150, every=5)[:1]
        wf = first["metadata"]["name"]
        wait(f"Workflow {wf} to end",
             lambda: kget("workflow", wf)["status"].get("phase") in ("Succeeded", "Failed", "Error"), timeout=600)
        assert kget("workflow", wf)["status"]["phase"] == "Succeeded", kget("workflow", wf)["status"].get("message")

        # `cellpipe runs` records it as a run of the notebook, as it ended: its outputs, logs and metrics.
        runs = cellpipe(folder, "runs", "nb.ipynb", "--json")
        assert runs.returncode == 0, runs.stderr
        [record] = [r for r in json.loads(runs.stdout) if r.get("schedule") == name]
        assert record["cluster"]["name"] == wf and record["target"] == "argo"
        assert record["status"] == "succeeded", record
        assert record["parameters"]["n"]["value"] == 5 and record["metrics"] == {"total": 10}, record
        assert all(s["status"] == "succeeded" for s in record["steps"].values()), record["steps"]
        assert "made [0, 1, 2, 3, 4]" in step_log(folder, record["id"], "make")
        assert any("total 10" in o.get("text", "") for outs in step_outputs(folder, record["id"], "total").values()
                   for o in outs)
        # The run's end leaves the schedule's snapshot: the next run restores from it too.
        assert kget("volumesnapshot", snap)["metadata"]["name"] == snap

        schedule = listed(folder, name)
        assert not schedule["paused"] and schedule["nextRun"] and schedule["lastRun"], schedule
        assert record["id"] in schedule["runs"]

        # Paused: Argo's cron controller starts nothing while it is (waited past a minute's turn).
        paused = cellpipe(folder, "schedule", "nb.ipynb", "--pause", name)
        assert paused.returncode == 0, paused.stderr
        assert kget("cronworkflow", name)["spec"]["suspend"] is True
        schedule = listed(folder, name)
        assert schedule["paused"] and "nextRun" not in schedule, schedule
        time.sleep(5)  # a Workflow the controller made just before the pause
        count = len(started_by(name))
        time.sleep(60 - seconds_past_the_minute() + 20)
        assert len(started_by(name)) == count, "a paused schedule started a run"

        # Resumed: it fires again.
        resumed = cellpipe(folder, "schedule", "nb.ipynb", "--resume", name)
        assert resumed.returncode == 0, resumed.stderr
        assert kget("cronworkflow", name)["spec"]["suspend"] is False
        assert not listed(folder, name)["paused"]
        wait("a run after the resume", lambda: len(started_by(name)) > count, timeout=300, every=5)

        # Deleted: the CronWorkflow, its snapshot and its record; the runs it started stay.
        deleted = cellpipe(folder, "schedule", "nb.ipynb", "--delete", name)
        assert deleted.returncode == 0, deleted.stderr
        assert kubectl("get", "cronworkflow", name, check=False).returncode != 0
        wait("the schedule's snapshot to be gone",
             lambda: snap not in [s["metadata"]["name"] for s in items("volumesnapshots")], timeout=60)
        assert not exists(f"{folder}/.cellpipe/schedules/{name}.json")
        assert exists(f"{folder}/.cellpipe/runs/{record['id']}/run.json")
        assert "No schedules of" in cellpipe(folder, "schedule", "nb.ipynb", "--list").stdout
    finally:
        # Whatever failed above, the lab must not go on firing every minute.
        kubectl("delete", "cronworkflow", name, "--ignore-not-found", check=False)
        kubectl("delete", "workflows", "-l", f"{LABEL}={name}", "--wait=true", check=False, timeout=180)
        kubectl("delete", "volumesnapshots", "-l", f"{LABEL}={name}", check=False)
    # Snapshots are labelled and named with the schedule's id (`schedule-NAME`), as a run's with its id.
    no_leftovers(f"schedule-{name}", timeout=180)
