"""What the workspace snapshot promises, checked on the real CSI driver's snapshots: the steps see the
files as they were when Run was pressed, what they write never reaches the user's PVC, and the run leaves
no PVC or VolumeSnapshot behind."""

from lab import exists, fresh, items, kget, latest_run, no_leftovers, notebook, read, run_record, sh, submit, wait

NB = notebook(
    [
        (["imports"], "import os, time"),
        (
            ["step:look"],
            "time.sleep(20)  # time for the notebook to change the file after Run\n"
            "seen = open('marker.txt').read().strip()\n"
            "print('step sees', seen)\n"
            "open('step-wrote.txt', 'w').write('written by the step')\n"
            "os.remove('delete-me.txt')",
        ),
        (["step:after", "prev:look"], "print('after sees', seen, os.path.exists('step-wrote.txt'))"),
    ],
    name="snapshot-semantics",
)


def test_steps_see_the_workspace_as_it_was_at_run_and_never_write_back():
    folder = "e2e/snapshot"
    fresh(folder, "snap.ipynb", NB)
    sh(f"echo before-run > {folder}/marker.txt && echo keep > {folder}/delete-me.txt", check=True)
    submit(folder, "snap.ipynb", "--watch", background=True)
    # Submitted means the snapshot was readyToUse: the run record and the Workflow exist.
    run_id = wait("the run to be submitted", lambda: latest_run(folder), timeout=180)
    record = wait("the Workflow", lambda: (r := run_record(folder, run_id)).get("cluster") and r, timeout=60)
    snapshot = record["snapshots"][0]["snapshot"]
    # The notebook changes the file after pressing Run.
    sh(f"echo after-run > {folder}/marker.txt", check=True)
    wait("the run to end", lambda: run_record(folder, run_id)["status"] != "running", timeout=600)

    record = run_record(folder, run_id)
    assert record["status"] == "succeeded", read(f"{folder}/submit.err")
    look = read(f"{folder}/.cellpipe/runs/{run_id}/logs/look.log")
    assert "step sees before-run" in look, look
    # A step sees the files the steps above it wrote (one restored volume per run, shared by its steps).
    assert "after sees before-run True" in read(f"{folder}/.cellpipe/runs/{run_id}/logs/after.log")
    # Nothing the steps did reached the user's PVC.
    assert read(f"{folder}/marker.txt").strip() == "after-run"
    assert not exists(f"{folder}/step-wrote.txt")
    assert exists(f"{folder}/delete-me.txt")
    # Nothing left: the snapshot and the restored claim are gone.
    no_leftovers(run_id)
    assert snapshot not in [s["metadata"]["name"] for s in items("volumesnapshots")]
    assert read(f"{folder}/submit.out").strip() == f"run {run_id} succeeded"
