"""`cellpipe schedule` as a user meets it without a cluster: what to set, a bad cron named, nothing made."""

import subprocess

from .test_cli_analyze import write_notebook


def schedule(cli, *args, cwd=None):
    return subprocess.run([cli, "schedule", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def two_steps(tmp_path):
    return write_notebook(
        tmp_path / "daily.ipynb",
        [("data = [1, 2]", ["step:load"]), ("total = sum(data)", ["step:total", "prev:load"])],
    )


def test_a_local_pipeline_is_told_a_schedule_needs_a_cluster(cellpipe_cli, tmp_path):
    path = two_steps(tmp_path)
    result = schedule(cellpipe_cli, path, "--cron", "0 6 * * *", "--timezone", "Europe/Berlin")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a schedule runs on a cluster" in result.stderr
    assert "--target argo or --target kfp" in result.stderr
    assert not (tmp_path / ".cellpipe" / "schedules").exists()


def test_a_bad_cron_or_time_zone_is_named_before_the_cluster_is_asked(cellpipe_cli, tmp_path):
    path = two_steps(tmp_path)
    result = schedule(cellpipe_cli, path, "--cron", "0 25 * * *", "--target", "argo")
    assert result.returncode == 2
    assert '"0 25 * * *" is not a valid cron expression (its hour field)' in result.stderr
    result = schedule(cellpipe_cli, path, "--cron", "@daily", "--timezone", "Berlin", "--target", "argo")
    assert result.returncode == 2
    assert '"Berlin" is not a time zone' in result.stderr


def test_list_and_one_action_at_a_time(cellpipe_cli, tmp_path):
    path = two_steps(tmp_path)
    result = schedule(cellpipe_cli, path, "--list")
    assert result.returncode == 0
    assert "No schedules of" in result.stdout
    result = schedule(cellpipe_cli, path, "--list", "--pause", "x")
    assert result.returncode == 2
    assert "say one thing to do" in result.stderr
    result = schedule(cellpipe_cli, "--delete", "nightly", cwd=tmp_path)
    assert result.returncode == 2
    assert "there is no schedule nightly" in result.stderr


# --- against the loopback cluster (server-proxy/test/cluster-fake.ts, run as a process) ---------------------

import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class Fake:
    """The fake cluster process: its URL, and its commands (one JSON line each)."""

    def __init__(self, tmp, options=None):
        bundle = tmp / "fake-cluster.js"
        subprocess.run(
            [str(REPO / "node_modules" / ".bin" / "esbuild"), str(REPO / "server-proxy" / "test" / "fake-cluster-main.ts"),
             "--bundle", "--platform=node", "--log-level=warning", f"--outfile={bundle}"],
            check=True, timeout=300,
        )
        self.proc = subprocess.Popen(["node", str(bundle), json.dumps(options or {})], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path):
    fake = Fake(tmp_path)
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: t\n  cluster:\n    server: {fake.url}\n    insecure-skip-tls-verify: true\n"
        "users:\n- name: t\n  user:\n    token: t\n"
        "contexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: team\n"
        "current-context: t\n"
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "CELLPIPE_POD_NAME": "notebook-0",
           "CELLPIPE_POD_NAMESPACE": "team", "CELLPIPE_POLL_MS": "20"}
    yield fake, env
    fake.stop()


def test_schedule_list_runs_pause_and_delete_on_argo(cellpipe_cli, tmp_path, cluster):
    fake, env = cluster
    path = two_steps(tmp_path)
    run = lambda *args: subprocess.run([cellpipe_cli, *map(str, args)], capture_output=True, text=True,  # noqa: E731
                                       timeout=300, env=env)
    made = run("schedule", path, "--cron", "0 6 * * *", "--timezone", "Europe/Berlin", "--target", "argo",
               "--name", "daily", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    view = json.loads(made.stdout)
    assert view["name"] == "daily" and view["timezone"] == "Europe/Berlin" and not view["paused"]
    cron = fake.ask("cron daily")["cron"]
    assert cron["kind"] == "CronWorkflow"
    assert cron["spec"]["schedules"] == ["0 6 * * *"] and cron["spec"]["timezone"] == "Europe/Berlin"
    snapshot = view["snapshots"][0]["snapshot"]
    assert snapshot.startswith("cellpipe-schedule-daily-")

    # The cron controller starts a run: `cellpipe runs` records it and shows it like a submitted run.
    workflow = fake.ask("fire-cron daily")["workflow"]
    assert workflow.startswith("daily-")
    runs = run("runs", path, "--json")
    assert runs.returncode == 0, runs.stderr
    [record] = json.loads(runs.stdout)
    assert record["schedule"] == "daily" and record["cluster"]["name"] == workflow
    assert snapshot in fake.ask("snapshots")["snapshots"]  # the run's end does not delete it

    listed = run("schedule", path, "--list")
    assert listed.returncode == 0, listed.stderr
    assert "daily" in listed.stdout and "active" in listed.stdout and "Europe/Berlin" in listed.stdout

    paused = run("schedule", path, "--pause", "daily")
    assert paused.returncode == 0, paused.stderr
    assert fake.ask("cron daily")["cron"]["spec"]["suspend"] is True
    assert fake.ask("fire-cron daily")["workflow"] is None
    listed = json.loads(run("schedule", path, "--list", "--json").stdout)["schedules"]
    assert listed[0]["paused"] is True and "nextRun" not in listed[0]

    deleted = run("schedule", path, "--delete", "daily")
    assert deleted.returncode == 0, deleted.stderr
    assert fake.ask("cron daily")["cron"] is None
    assert snapshot not in fake.ask("snapshots")["snapshots"]
    assert not (tmp_path / ".cellpipe" / "schedules" / "daily.json").exists()
