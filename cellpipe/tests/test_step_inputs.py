"""A step's inputs in a notebook's kernel: `cellpipe inputs RUN STEP` prints the code the sidebar's "Load this
step's inputs" runs; run in a real kernel, it gives the kernel exactly what the step received."""

import json
import os
import re
import subprocess
import sys

import pytest
from jupyter_client.manager import start_new_kernel

from .test_cli_analyze import write_notebook
from .test_cli_schedule import Fake

FIT = (
    'total = frame["x"].sum() * rate\n'
    "first = shifted(grid[0].tolist())\n"
    "grown = account.grown(rate)\n"
    'assert total < 1, f"total {total} is too big"'
)


def failing_notebook(path):
    return write_notebook(
        path,
        [
            ("import numpy as np\nimport pandas as pd", ["imports"]),
            ("rate = 0.5", ["pipeline-parameters"]),
            (
                'frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})\n'
                "grid = np.arange(12.0).reshape(3, 4)\n"
                "offset = 10\n"
                "class Account:\n"
                "    def __init__(self, owner, balance):\n"
                "        self.owner, self.balance = owner, balance\n"
                "    def grown(self, by):\n"
                "        return self.balance * (1 + by)\n"
                'account = Account("ada", 100.0)\n'
                "def shifted(values):\n"
                "    return [v + offset for v in values]",
                ["step:load"],
            ),
            (FIT, ["step:fit", "prev:load"]),
        ],
    )


@pytest.fixture
def kernel():
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client, code, **expressions):
    reply = client.execute_interactive(code, user_expressions=expressions, timeout=120, output_hook=lambda msg: None)
    content = reply["content"]
    values = {name: e.get("data", {}).get("text/plain", e) for name, e in content.get("user_expressions", {}).items()}
    return content, values


def cli(cellpipe_cli, *args, cwd):
    return subprocess.run([cellpipe_cli, *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def assert_fit_received(kernel):
    """The kernel has what `fit` of failing_notebook received (the run set rate=0.25), and its cell fails there as
    it did in the step."""
    checks = {
        "frame": 'frame.equals(pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]}))',
        # a copy-on-write memory map of the saved array, as the step had it
        "grid": "(isinstance(grid, np.ndarray), grid.shape, float(grid.sum()))",
        "rate": "rate",
        "account": "(type(account).__name__, account.owner, account.grown(0.5))",
        "shifted": "shifted([1, 2])",
        "output": "'total' in dir()",
    }
    _, values = execute(kernel, "", **checks)
    assert values == {
        "frame": "True",
        "grid": "(True, (3, 4), 66.0)",
        "rate": "0.25",  # the run's value, not the notebook's 0.5
        "account": "('Account', 'ada', 150.0)",
        "shifted": "[11, 12]",
        "output": "False",  # what the step computes is not loaded
    }
    # The function reads its globals from the kernel's namespace, as the notebook's own function does.
    _, values = execute(kernel, "offset = 100", shifted="shifted([1, 2])")
    assert values["shifted"] == "[101, 102]"
    # The failing cell, run in the kernel, fails as it did in the step: the user can fix it there.
    content, _ = execute(kernel, "offset = 10\n" + FIT)
    assert (content["status"], content["ename"], content["evalue"]) == ("error", "AssertionError", "total 1.5 is too big")


def test_the_kernel_gets_what_the_failed_step_received(cellpipe_cli, tmp_path, kernel):
    path = failing_notebook(tmp_path / "fit.ipynb")
    run = cli(cellpipe_cli, "run", str(path), "--param", "rate=0.25", "--json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    record = json.loads(run.stdout)
    run_id = record["run"] if "run" in record else record["id"]
    code = cli(cellpipe_cli, "inputs", run_id, "fit", "--notebook", str(path), cwd=tmp_path)
    assert code.returncode == 0, code.stderr

    # The kernel has nothing of the notebook (not even its imports) before the code runs.
    content, _ = execute(kernel, code.stdout)
    assert content["status"] == "ok", content
    assert_fit_received(kernel)


def test_a_step_whose_provider_failed_has_no_inputs_to_load(cellpipe_cli, tmp_path):
    path = write_notebook(
        tmp_path / "chain.ipynb",
        [("xs = [1, 2]\nraise RuntimeError('no data')", ["step:load"]), ("n = len(xs)", ["step:count", "prev:load"])],
    )
    run = cli(cellpipe_cli, "run", str(path), "--json", cwd=tmp_path)
    assert run.returncode == 1
    run_id = json.loads(run.stdout).get("run") or json.loads(run.stdout)["id"]
    result = cli(cellpipe_cli, "inputs", run_id, "count", "--notebook", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert "step load, which gives it xs, is failed" in result.stderr
    assert "Load the inputs of load instead" in result.stderr

    # The files of a run that were removed: a message, not a traceback.
    for program in (tmp_path / ".cellpipe" / "runs" / run_id / "programs").iterdir():
        program.unlink()
    gone = cli(cellpipe_cli, "inputs", run_id, "load", "--notebook", str(path), cwd=tmp_path)
    assert gone.returncode == 1
    assert f"The files of run {run_id} are gone" in gone.stderr


# --- a cluster run's inputs: the loopback cluster (run as a process) hands back what its steps saved -------


def run_argo_container(workflow, task, volume, pod):
    """A compiled step's container, run here as its pod would: /cellpipe/run is `volume`, /tmp/cellpipe `pod`."""
    template = next(t for t in workflow["spec"]["templates"] if t["name"] == task)
    values = {p["name"]: p["value"] for p in workflow["spec"].get("arguments", {}).get("parameters", [])}
    args = []
    for arg in template["container"]["args"]:
        arg = re.sub(r"\{\{workflow\.parameters\.(\w+)\}\}", lambda m: values[m[1]], arg)
        if arg.startswith("/cellpipe/run"):
            arg = str(volume) + arg[len("/cellpipe/run"):]
        elif arg.startswith("/tmp/cellpipe/"):
            arg = str(pod) + arg[len("/tmp/cellpipe"):]
        args.append(arg)
    return subprocess.run([sys.executable, *template["container"]["command"][1:], *args], capture_output=True,
                          text=True, timeout=300)


def test_a_failed_argo_steps_inputs_come_from_the_run_volume_into_a_kernel(cellpipe_cli, tmp_path, kernel):
    failed = {"cell": 3, "line": 4, "ename": "AssertionError", "evalue": "total 1.5 is too big",
              "message": "cell 4, line 4 raised AssertionError: total 1.5 is too big", "step": "fit"}
    fake = Fake(tmp_path, {"failTask": "fit", "failError": failed, "python": sys.executable})
    try:
        kubeconfig = tmp_path / "kubeconfig.yaml"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: t\n  cluster:\n    server: {fake.url}\n    insecure-skip-tls-verify: true\n"
            "users:\n- name: t\n  user:\n    token: t\n"
            "contexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: team-a\n"
            "current-context: t\n"
        )
        env = {k: v for k, v in os.environ.items() if k not in ("CELLPIPE_POD_NAME", "KUBERNETES_SERVICE_HOST")}
        env.update(KUBECONFIG=str(kubeconfig), CELLPIPE_POLL_MS="20")
        path = failing_notebook(tmp_path / "fit.ipynb")
        submit = subprocess.run(
            [cellpipe_cli, "submit", str(path), "--target", "argo", "--namespace", "team-a", "--image",
             "python:3.12-slim", "--param", "rate=0.25", "--watch", "--json"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
        assert submit.returncode == 1, submit.stdout + submit.stderr
        record = json.loads(submit.stdout)
        assert "run" in record, submit.stdout + submit.stderr
        run_id = record["run"]

        # What the cluster's `load` pod left on the run volume, which Argo keeps with a failed workflow.
        [workflow] = fake.ask("workflows")["workflows"]
        volume, pod = tmp_path / "volume", tmp_path / "pod"
        load = run_argo_container(workflow, "load", volume, pod)
        assert load.returncode == 0, load.stderr
        fake.ask(f"volume {workflow['metadata']['name']}-cellpipe-run {volume}")

        code = cli(cellpipe_cli, "inputs", run_id, "fit", "--notebook", str(path), cwd=tmp_path)
        assert code.returncode == 1 and "cannot reach it" in code.stderr  # KUBECONFIG is not in cli()'s env
        code = subprocess.run([cellpipe_cli, "inputs", run_id, "fit", "--notebook", str(path)], capture_output=True,
                              text=True, timeout=600, cwd=tmp_path, env=env)
        assert code.returncode == 0, code.stderr
        assert fake.ask("pods")["pods"] == []  # the pod that read the volume is gone
    finally:
        fake.stop()

    content, _ = execute(kernel, code.stdout)
    assert content["status"] == "ok", content
    assert_fit_received(kernel)
