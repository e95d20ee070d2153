"""Every notebook in examples/, submitted to Argo from a terminal in the notebook pod
(`cellpipe submit --target argo --watch`), against a local run of the same notebook in the same pod:
same metrics, same step outputs; the workspace PVC snapshotted and restored at the notebook's mount path;
each step's log back in the run folder; nothing left on the cluster afterwards."""

import json

import pytest

from lab import HOME, ROOT, cellpipe, comparable, items, kget, no_leftovers, run_record, sh, step_log, step_outputs, write

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.ipynb"))


@pytest.fixture(scope="module")
def local_runs():
    """Each example run locally in the notebook pod (`cellpipe run`), the reference for the cluster runs."""
    runs = {}
    for name in EXAMPLES:
        folder = f"e2e/local-{name.removesuffix('.ipynb')}"
        sh(f"rm -rf {folder} && mkdir -p {folder}", check=True)
        write(f"{folder}/{name}", (ROOT / "examples" / name).read_text())
        done = cellpipe(folder, "run", name, "--json", timeout=600)
        assert done.returncode == 0, done.stderr
        runs[name] = (folder, json.loads(done.stdout))
    return runs


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_on_argo_from_the_notebook_terminal(name, local_runs):
    folder = f"e2e/argo-{name.removesuffix('.ipynb')}"
    sh(f"rm -rf {folder} && mkdir -p {folder}", check=True)
    write(f"{folder}/{name}", (ROOT / "examples" / name).read_text())

    done = cellpipe(folder, "submit", name, "--target", "argo", "--watch", "--json", "--timeout", "900")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}\n{done.stdout}"
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded"
    run_id = result["run"]
    record = run_record(folder, run_id)
    assert record["status"] == "succeeded"
    assert all(s["status"] == "succeeded" for s in record["steps"].values()), record["steps"]

    # The workspace PVC was snapshotted; every step mounted a claim restored from that snapshot at the
    # notebook's mount path and started in the notebook's folder.
    [snap] = record["snapshots"]
    assert snap["claim"] == "nb-workspace" and snap["mountPath"] == HOME and snap["snapshot"]
    workflow = kget("workflow", record["cluster"]["name"])
    restored = [
        t for t in workflow["spec"]["volumeClaimTemplates"]
        if t["spec"].get("dataSource", {}).get("name") == snap["snapshot"]
    ]
    assert len(restored) == 1 and restored[0]["spec"]["dataSource"]["kind"] == "VolumeSnapshot"
    for template in workflow["spec"]["templates"]:
        if "container" in template:
            mounts = {m["name"]: m["mountPath"] for m in template["container"]["volumeMounts"]}
            assert mounts[restored[0]["metadata"]["name"]] == HOME
            assert template["container"]["workingDir"] == f"{HOME}/{folder}"
    # The notebook pod's image, pinned by digest.
    pod = kget("pod", "nb-0")
    image_id = pod["status"]["containerStatuses"][0]["imageID"]
    for template in workflow["spec"]["templates"]:
        if "container" in template:
            assert template["container"]["image"].endswith("@" + image_id.split("@")[-1]), template["container"]["image"]

    # Same metrics and step outputs (text, tables, plots) as the local run of the same notebook.
    local_folder, local = local_runs[name]
    assert record["metrics"] == local["metrics"]
    assert record["metrics"], "the example records metrics"
    for step in record["order"]:
        assert comparable(step_outputs(folder, run_id, step)) == comparable(
            step_outputs(local_folder, local["run"], step)
        ), f"outputs of step {step} differ from the local run"
        # The step's log: what it printed (as its stream outputs show), none of Argo's executor lines.
        log = step_log(folder, run_id, step)
        assert "could not read" not in log and "no pod" not in log and 'level=info msg="' not in log, log
        for outs in step_outputs(folder, run_id, step).values():
            for out in outs:
                if out.get("output_type") == "stream":
                    assert out["text"] in log, (step, log)

    no_leftovers(run_id)
