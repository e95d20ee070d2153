"""What real clusters do to users, each giving one clear line in the CLI (and in the run record the
sidebar shows), a true final state, and nothing left behind."""

import json
import os
import signal
import subprocess
import time

import pytest

from lab import (
    LAB, NS, POD, ROOT, fresh, items, kget, kubectl, latest_run, no_leftovers, notebook, read, run_record,
    server, sh, submit, wait,
)


def two_steps(first_settings=None, first_source="print('first')", name="fault"):
    return notebook(
        [
            (["imports"], "import time"),
            (["step:first"], first_source),
            (["step:second", "prev:first"], "print('second')"),
        ],
        name=name,
        steps={"first": first_settings} if first_settings else None,
    )


def one_line(text):
    """The CLI's message: one line (`cellpipe: ...`) that says what happened and what to do."""
    lines = [l for l in text.splitlines() if l.startswith("cellpipe: ")]
    assert len(lines) == 1, text
    return lines[0]


def interrupt(folder):
    """Ctrl-C of the `cellpipe submit --watch` running in the background: it stops the run on the cluster."""
    sh(f"kill -INT $(cat {folder}/submit.pid)", check=True)


def ended(folder, run_id, timeout=300):
    wait(f"run {run_id} to end", lambda: run_record(folder, run_id)["status"] != "running", timeout=timeout)
    return run_record(folder, run_id)


def waiting_message(folder, run_id, step, pattern, timeout=240):
    """The step's `waiting` message in the run record (what the sidebar shows under the step) once it matches."""
    def found():
        s = run_record(folder, run_id)["steps"][step]
        return pattern in (s.get("waiting") or "") and s["waiting"]
    return wait(f"step {step} to say why it waits ({pattern})", found, timeout=timeout)


def test_a_service_account_that_may_not_create_workflows_gets_a_clear_refusal():
    kubectl("create", "sa", "no-workflows", check=False)
    kubectl("apply", "-f", "-", input=f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: no-workflows, namespace: {NS}}}
rules:
- {{apiGroups: [""], resources: [pods, persistentvolumeclaims], verbs: [get, list]}}
- {{apiGroups: [snapshot.storage.k8s.io], resources: [volumesnapshots], verbs: [create, get, list, watch, delete]}}
- {{apiGroups: [argoproj.io], resources: [workflows], verbs: [get, list]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: no-workflows, namespace: {NS}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-workflows}}
subjects: [{{kind: ServiceAccount, name: no-workflows, namespace: {NS}}}]
""")
    token = kubectl("create", "token", "no-workflows").stdout.strip()
    folder = "e2e/forbidden"
    fresh(folder, "nb.ipynb", two_steps())
    before = {s["metadata"]["name"] for s in items("volumesnapshots")}
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    sh(
        f"""cat > {folder}/kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT", certificate-authority: {sa}/ca.crt}}}}]
users: [{{name: u, user: {{token: {token}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: {NS}}}}}]
current-context: x
EOF""",
        check=True,
    )
    done = submit(folder, "nb.ipynb", "--kubeconfig", "kubeconfig")
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "may not create" in line and "Argo Workflow" in line and NS in line, line
    # Nothing was recorded as a run, and the snapshot it took first was deleted (the snapshot controller
    # takes its finalizers off a moment after the delete was accepted).
    assert latest_run(folder) is None
    assert "deleted" in line
    wait("the snapshot to be gone", lambda: {s["metadata"]["name"] for s in items("volumesnapshots")} <= before,
         timeout=60)


def test_resource_quota_exceeded_says_so_and_the_run_can_be_stopped():
    # The notebook pod is the namespace's one allowed pod: no step pod may be created.
    kubectl("create", "quota", "e2e-pods", "--hard=pods=1")
    try:
        folder = "e2e/quota"
        fresh(folder, "nb.ipynb", two_steps())
        submit(folder, "nb.ipynb", "--watch", background=True)
        run_id = wait("the run", lambda: latest_run(folder), timeout=180)
        message = waiting_message(folder, run_id, "first", "quota")
        assert "e2e-pods" in message, message
        interrupt(folder)
        record = ended(folder, run_id)
        assert record["status"] == "cancelled"
        assert "quota" in read(f"{folder}/submit.err")
    finally:
        kubectl("delete", "quota", "e2e-pods", check=False)
    no_leftovers(run_id)


@pytest.mark.parametrize(
    "settings, resource",
    [({"gpu": {"count": 1, "vendor": "nvidia"}}, "nvidia.com/gpu"), ({"memory": {"request": "500Gi"}}, "memory")],
    ids=["gpu", "memory"],
)
def test_a_request_no_node_can_satisfy_says_which(settings, resource):
    folder = f"e2e/unschedulable-{resource.split('/')[-1]}"
    fresh(folder, "nb.ipynb", two_steps(settings))
    submit(folder, "nb.ipynb", "--watch", background=True)
    run_id = wait("the run", lambda: latest_run(folder), timeout=180)
    message = waiting_message(folder, run_id, "first", f"Insufficient {resource}")
    assert "cannot be scheduled" in message, message
    interrupt(folder)
    record = ended(folder, run_id)
    assert record["status"] == "cancelled"
    assert f"Insufficient {resource}" in read(f"{folder}/submit.err")
    no_leftovers(run_id)


def test_an_image_that_does_not_exist():
    folder = "e2e/missing-image"
    fresh(folder, "nb.ipynb", two_steps({"image": "localhost/no-such-image:1"}))
    submit(folder, "nb.ipynb", "--watch", background=True)
    run_id = wait("the run", lambda: latest_run(folder), timeout=180)
    message = waiting_message(folder, run_id, "first", "localhost/no-such-image:1")
    assert "cannot be pulled" in message, message
    interrupt(folder)
    record = ended(folder, run_id)
    assert record["status"] == "cancelled"
    no_leftovers(run_id)


def test_a_failing_step_is_retried_then_fails_with_its_error():
    folder = "e2e/retries"
    fresh(folder, "nb.ipynb", two_steps({"retries": 2}, "raise ValueError('no data for ' + 'march')"))
    done = submit(folder, "nb.ipynb", "--watch")
    assert done.returncode == 1
    record = run_record(folder, json.loads(done.stdout)["run"])
    assert record["status"] == "failed"
    first = record["steps"]["first"]
    assert first["status"] == "failed"
    assert "ValueError: no data for march" in first["error"]["message"], first
    assert "3 attempts" in first["error"]["message"], first
    assert first["error"]["cell"] == 1 and first["error"]["line"] == 1
    assert record["steps"]["second"] == {"status": "skipped", "cached": False, "skippedBecause": "first"}
    pods = items("pods", f"workflows.argoproj.io/workflow={record['cluster']['name']}")
    assert len(pods) == 3
    assert "ValueError: no data for march" in done.stderr
    no_leftovers(record["id"])


def test_a_step_past_its_timeout_is_stopped():
    folder = "e2e/timeout"
    fresh(folder, "nb.ipynb", two_steps({"timeout": 15}, "time.sleep(600)"))
    started = time.time()
    done = submit(folder, "nb.ipynb", "--watch")
    assert done.returncode == 1
    assert time.time() - started < 300
    record = run_record(folder, json.loads(done.stdout)["run"])
    first = record["steps"]["first"]
    assert first["status"] == "failed" and "timeout of 15 s" in first["error"]["message"], first
    no_leftovers(record["id"])


def test_the_workflow_deleted_mid_run():
    folder = "e2e/deleted"
    fresh(folder, "nb.ipynb", two_steps(first_source="time.sleep(600)"))
    submit(folder, "nb.ipynb", "--watch", background=True)
    run_id = wait("the run", lambda: latest_run(folder), timeout=180)
    wait("step first to run", lambda: run_record(folder, run_id)["steps"]["first"]["status"] == "running", 240)
    kubectl("delete", "workflow", run_record(folder, run_id)["cluster"]["name"], "--wait=false")
    record = ended(folder, run_id, timeout=120)
    assert record["status"] == "failed"
    assert "was deleted" in record["steps"]["first"]["error"]["message"]
    assert record["steps"]["second"] == {"status": "skipped", "cached": False, "skippedBecause": "first"}
    assert "was deleted" in read(f"{folder}/submit.err")
    no_leftovers(run_id)


def restart_controller():
    pid = int((LAB / "pids" / "workflow-controller.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    wait("the controller to stop", lambda: not os.path.exists(f"/proc/{pid}"), timeout=30, every=1)
    time.sleep(10)
    done = subprocess.run([str(ROOT / "cluster" / "scripts" / "60-argo.sh")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_argo_controller_restarted_mid_run():
    folder = "e2e/controller"
    fresh(folder, "nb.ipynb", two_steps(first_source="time.sleep(20)"))
    submit(folder, "nb.ipynb", "--watch", background=True)
    run_id = wait("the run", lambda: latest_run(folder), timeout=180)
    wait("step first to run", lambda: run_record(folder, run_id)["steps"]["first"]["status"] == "running", 240)
    restart_controller()
    record = ended(folder, run_id, timeout=400)
    assert record["status"] == "succeeded", record
    assert "second" in read(f"{folder}/.cellpipe/runs/{run_id}/logs/second.log")
    # While its restored PVC is being bound (when Argo reports that moment) a step says so, never that
    # its request is too large.
    progress = read(f"{folder}/submit.err")
    assert "cannot be scheduled" not in progress, progress
    no_leftovers(run_id)


def test_the_notebook_pod_restarted_mid_run_is_followed_again():
    folder = "e2e/pod-restart"
    fresh(folder, "nb.ipynb", two_steps(first_source="time.sleep(45)"))
    # As the Run button does with the Argo target chosen.
    status, body = server("POST", "/api/runs", {"notebook": f"{folder}/nb.ipynb", "target": "argo"})
    assert status == 201, body
    run_id = body["run"]
    wait("step first to run", lambda: run_record(folder, run_id)["steps"]["first"]["status"] == "running", 240)
    kubectl("delete", "pod", POD, "--wait=true", timeout=180)
    kubectl("wait", "--for=condition=Ready", f"pod/{POD}", "--timeout=300s", timeout=320)
    assert run_record(folder, run_id)["status"] == "running"
    # The new pod's JupyterLab lists the notebook's runs and takes over those whose owner is gone, as the
    # sidebar does (runs-model.ts): it follows the run again.
    status, body = server("GET", f"/api/runs?notebook={folder}/nb.ipynb")
    assert status == 200, body
    [listed] = [r for r in body["runs"] if r["id"] == run_id]
    assert listed.get("orphan"), listed
    status, body = server("POST", "/api/runs/adopt", {"notebook": f"{folder}/nb.ipynb"})
    assert status == 202 and run_id in body["adopted"], body
    record = ended(folder, run_id, timeout=400)
    assert record["status"] == "succeeded", record
    assert "second" in read(f"{folder}/.cellpipe/runs/{run_id}/logs/second.log")
    no_leftovers(run_id)
