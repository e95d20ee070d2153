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
