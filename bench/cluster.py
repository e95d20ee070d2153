"""Cluster run latency on the lab (make cluster first): Run pressed (POST /api/runs to the cellpipe server in
the notebook pod, as the Run button does) → workflow submitted (the workspace snapshot taken and readyToUse)
→ first step running → run succeeded, for a 3-step notebook. Prints figures; asserts nothing.

    LAB=build/cluster .venv/bin/python bench/cluster.py [REPEAT]
"""

import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster" / "test"))

from lab import fresh, kget, notebook, run_record, server  # noqa: E402

NB = notebook(
    [
        (["imports"], "import numpy as np"),
        (["step:generate"], "data = np.arange(1_000_000, dtype=float)"),
        (["step:transform", "prev:generate"], "squares = data ** 2"),
        (["step:report", "prev:transform"], "total = float(squares.sum())\nprint(total)"),
    ],
    name="bench-three-steps",
)


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def once(i):
    folder = f"bench/cluster-{i}"
    fresh(folder, "three.ipynb", NB)
    t0 = time.time()
    status, body = server("POST", "/api/runs", {"notebook": f"{folder}/three.ipynb", "target": "argo"})
    assert status == 201, body
    t_submitted = time.time()
    run_id = body["run"]
    # Read now: the run deletes its snapshot when it ends.
    snap = kget("volumesnapshots", "-l", f"cellpipe.dev/run={run_id}")["items"]
    first_running = None
    while True:
        record = run_record(folder, run_id)
        if first_running is None and any(s["status"] != "queued" for s in record["steps"].values()):
            first_running = time.time()
        if record["status"] != "running":
            break
        time.sleep(0.5)
    t_done = time.time()
    assert record["status"] == "succeeded", record
    wf = kget("workflow", record["cluster"]["name"])
    # The snapshot: from the VolumeSnapshot's creation to the Workflow's (cellpipe waits for readyToUse).
    snapshot_s = (
        stamp(wf["metadata"]["creationTimestamp"]) - stamp(snap[0]["metadata"]["creationTimestamp"]) if snap else None
    )
    steps = record["steps"]
    return {
        "run to submitted (pod, PVC, snapshot readyToUse, create Workflow)": t_submitted - t0,
        "of which the snapshot (VolumeSnapshot created to Workflow created, 1 s resolution)": snapshot_s,
        "run to first step running (as the sidebar shows it)": (first_running or t_done) - t0,
        "run to succeeded (as the sidebar shows it)": t_done - t0,
        "steps' own seconds (Argo startedAt to finishedAt, summed)": sum(s.get("seconds") or 0 for s in steps.values()),
    }


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = [once(i) for i in range(repeat)]
    print(f"cluster run of a 3-step notebook on the lab, {repeat} runs (seconds, median [min-max])")
    for key in results[0]:
        values = sorted(r[key] for r in results if r[key] is not None)
        if values:
            print(f"  {key}: {values[len(values) // 2]:.1f} [{values[0]:.1f}-{values[-1]:.1f}]")
        else:
            print(f"  {key}: n/a")


if __name__ == "__main__":
    main()
