"""The lab as the end-to-end tests see it: kubectl against the lab's API server, commands in the
notebook pod (as a user types them in a JupyterLab terminal), files on its workspace PVC, and the
cellpipe server of that pod's JupyterLab."""

import json
import os
import re
import shlex
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = Path(os.environ["LAB"])
KUBECTL = str(LAB / "bin" / "kubectl")
NS = os.environ.get("NB_NS", "team-a")
POD = "nb-0"
HOME = "/home/jovyan"
#: The notebook server's base URL inside the pod (NB_PREFIX, as Kubeflow sets it).
BASE = f"http://127.0.0.1:8888/notebook/{NS}/nb"
ENV = {**os.environ, "KUBECONFIG": str(LAB / "admin.kubeconfig")}


def kubectl(*args, input=None, check=True, timeout=120, ns=NS):
    cmd = [KUBECTL, *(["-n", ns] if ns else []), *args]
    done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=ENV)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def kget(*args, ns=NS):
    """`kubectl get ... -o json` as a dict."""
    return json.loads(kubectl("get", *args, "-o", "json", ns=ns).stdout)


def items(kind, selector=None, ns=NS):
    args = [kind] + (["-l", selector] if selector else [])
    return kget(*args, ns=ns)["items"]


def sh(script, timeout=900, check=False, pod=POD):
    """Runs a bash script in the notebook container, in the notebook's home, as the notebook's user."""
    return kubectl(
        "exec", "-i", pod, "-c", "nb", "--", "bash", "-c", f"cd {HOME} && {script}", check=check, timeout=timeout
    )


def write(path, text):
    """Writes a file on the workspace PVC (through the pod, as the notebook's user)."""
    q = shlex.quote(path)
    kubectl("exec", "-i", POD, "-c", "nb", "--", "bash", "-c",
            f"cd {HOME} && mkdir -p $(dirname {q}) && cat > {q}.tmp && mv {q}.tmp {q}", input=text)


def read(path):
    return sh(f"cat {shlex.quote(path)}", check=True).stdout


def exists(path):
    return sh(f"test -e {shlex.quote(path)}").returncode == 0


def run_record(folder, run_id):
    return json.loads(read(f"{folder}/.cellpipe/runs/{run_id}/run.json"))


def server(method, path, body=None, timeout=60):
    """A request to the cellpipe server of the pod's JupyterLab (through jupyter-server-proxy), from
    inside the pod: what the frontend asks."""
    code = (
        "import json,sys,urllib.request as u\n"
        "m,url,body=sys.argv[1],sys.argv[2],sys.stdin.read()\n"
        "r=u.Request(url,method=m,data=body.encode() if body else None,headers={'Content-Type':'application/json'})\n"
        "try:\n  res=u.urlopen(r,timeout=%d); print(res.status); print(res.read().decode())\n"
        "except u.HTTPError as e:\n  print(e.code); print(e.read().decode())\n" % timeout
    )
    done = kubectl(
        "exec", "-i", POD, "-c", "nb", "--", "python3", "-c", code, method, f"{BASE}/cellpipe{path}",
        input=json.dumps(body) if body is not None else "", timeout=timeout + 30,
    )
    status, _, text = done.stdout.partition("\n")
    return int(status), (json.loads(text) if text.strip() else None)


def wait(what, predicate, timeout=300, every=2):
    """Polls `predicate` until it returns something true; fails with `what` after `timeout` seconds."""
    end = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def leftovers(run_id):
    """What a finished run may not leave behind: its VolumeSnapshots and their contents, PVCs of its
    workflow (but a failed workflow's, kept for its step inputs) and their volumes, running pods."""
    snaps = [s["metadata"]["name"] for s in items("volumesnapshots", f"cellpipe.dev/run={run_id}")]
    # A failed workflow keeps its claims on purpose (its failed step's inputs can still be loaded) until the
    # Workflow, which owns them, is deleted.
    failed = {w["metadata"]["name"] for w in items("workflows") if w.get("status", {}).get("phase") in ("Failed", "Error")}
    kept = {
        p["metadata"]["name"]
        for p in items("pvc")
        if any(o.get("kind") == "Workflow" and o.get("name") in failed for o in p["metadata"].get("ownerReferences", []))
    }
    wf_pvcs = [
        p["metadata"]["name"]
        for p in items("pvc")
        if p["metadata"]["name"] != "nb-workspace" and p["metadata"]["name"] not in kept
    ]
    # Cluster-scoped: the snapshots' contents (deletionPolicy Delete) and the restored claims' volumes.
    contents = [
        c["metadata"]["name"]
        for c in items("volumesnapshotcontents", ns=None)
        if c["spec"].get("volumeSnapshotRef", {}).get("namespace") == NS
        and c["spec"]["volumeSnapshotRef"].get("name", "").startswith(f"cellpipe-{run_id}")
    ]
    volumes = [
        v["metadata"]["name"]
        for v in items("pv", ns=None)
        if (v["spec"].get("claimRef") or {}).get("namespace") == NS
        and v["spec"]["claimRef"].get("name") not in {"nb-workspace", *kept}
    ]
    running = [
        p["metadata"]["name"]
        for p in items("pods", "workflows.argoproj.io/workflow")
        if p["status"].get("phase") in ("Pending", "Running")
    ]
    return {"volumesnapshots": snaps, "volumesnapshotcontents": contents, "pvcs": wf_pvcs, "pvs": volumes,
            "running pods": running}


def no_leftovers(run_id, timeout=120):
    """Waits until the run left nothing behind (PVC deletion takes the controllers a moment)."""
    last = {}

    def clean():
        nonlocal last
        last = leftovers(run_id)
        return not any(last.values())

    try:
        wait(f"run {run_id} to leave nothing behind", clean, timeout=timeout, every=3)
    except AssertionError as err:
        raise AssertionError(f"{err}: left {last}") from None


def notebook(cells, name="e2e", steps=None):
    """An nbformat notebook of code cells: `cells` is a list of (tags, source); `steps` the per-step
    settings (metadata.cellpipe.steps)."""
    meta = {"name": name}
    if steps:
        meta["steps"] = steps
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "cellpipe": meta},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags}, "execution_count": None,
             "outputs": [], "source": source}
            for i, (tags, source) in enumerate(cells)
        ],
    })


def counting_notebook(name):
    """A pipeline of two steps, `make` and `total`, with the parameter `n` (3) and the metric `total`: run
    with n=5 it prints "made [0, 1, 2, 3, 4]" and "total 10" (what the schedule cases fire every minute)."""
    return notebook(
        [
            (["pipeline-parameters"], "n = 3"),
            (["step:make"], "values = list(range(n))\nprint('made', values)"),
            (["step:total", "prev:make"], "total = sum(values)\nprint('total', total)"),
            (["pipeline-metrics"], "print(total)"),
        ],
        name=name,
    )


def listed(folder, name):
    """The schedule `name` of the folder's nb.ipynb, as `cellpipe schedule --list --json` shows it."""
    done = cellpipe(folder, "schedule", "nb.ipynb", "--list", "--json")
    assert done.returncode == 0, done.stderr
    [schedule] = [s for s in json.loads(done.stdout)["schedules"] if s["name"] == name]
    return schedule


def seconds_past_the_minute():
    return datetime.now(timezone.utc).second


def fresh(folder, name, text):
    """A new folder on the workspace with one notebook in it."""
    sh(f"rm -rf {folder} && mkdir -p {folder}", check=True)
    write(f"{folder}/{name}", text)


def cellpipe(folder, *args, timeout=900):
    """`cellpipe ARGS...` typed in the notebook pod's terminal, in `folder`; the finished process."""
    return sh(f"cd {folder} && cellpipe {' '.join(shlex.quote(str(a)) for a in args)}", timeout=timeout)


def submit(folder, name, *flags, timeout=900, background=False):
    """`cellpipe submit NAME --target argo ...` in the notebook's folder, as typed in its terminal: with
    `--json` in the foreground (the result on stdout), without it in the background (the progress lines a
    user reads on stderr, in submit.err)."""
    if background:
        args = " ".join(shlex.quote(f) for f in flags)
        # Output to files on the workspace; `submit.pid` to stop it as Ctrl-C would. setsid: it outlives
        # this exec session, as a command left running in a JupyterLab terminal does.
        d = f"{HOME}/{folder}"
        return sh(
            # `cd` on its own: `$!` must be cellpipe's process, not a subshell's.
            f"cd {folder}; setsid nohup cellpipe submit {shlex.quote(name)} --target argo {args} "
            f"> {d}/submit.out 2> {d}/submit.err < /dev/null & echo $! > {d}/submit.pid",
            check=True,
        )
    return cellpipe(folder, "submit", name, "--target", "argo", "--json", *flags, timeout=timeout)


def latest_run(folder):
    """The id of the newest run recorded in `folder` (run ids sort by time)."""
    ids = sh(f"ls {folder}/.cellpipe/runs 2>/dev/null").stdout.split()
    return sorted(ids)[-1] if ids else None


def step_outputs(folder, run_id, step):
    """The cell outputs a run recorded for one step (what the run view shows under it)."""
    return json.loads(read(f"{folder}/.cellpipe/runs/{run_id}/steps/{step}/outputs.json"))


def step_log(folder, run_id, step):
    return read(f"{folder}/.cellpipe/runs/{run_id}/logs/{step}.log")


def pod_nodes(workflow):
    """The Workflow's pod nodes (one per step pod Argo ran), as its status lists them."""
    nodes = kget("workflow", workflow)["status"].get("nodes", {}).values()
    return [n for n in nodes if n.get("type") == "Pod"]


def comparable(outputs):
    """A step's cell outputs without what differs between two runs of the same code (counters, and the
    kernel's pid in the file name of a warning: /tmp/ipykernel_PID/HASH.py)."""
    def clean(out):
        out = {k: v for k, v in out.items() if k != "execution_count"}
        if isinstance(out.get("text"), str):
            out["text"] = re.sub(r"/ipykernel_\d+/", "/ipykernel_PID/", out["text"])
        data = out.get("data")
        if isinstance(data, dict):
            out["data"] = {k: ("".join(v) if isinstance(v, list) else v) for k, v in data.items()}
        return out

    return {cell: [clean(o) for o in outs] for cell, outs in outputs.items()}
