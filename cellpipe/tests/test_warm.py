"""Steps forked from a warm Python: the imports and functions cells run once per run (once per notebook
and prelude in the server), each step is a fork that runs its own program; what a fork would break sends
the run back to fresh Pythons, with the reason in the run record; cancel stops a forked step."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest

from .test_cli_analyze import write_notebook


def run(cli, path, *flags, env=None):
    result = subprocess.run([cli, "run", str(path), "--json", "--no-cache", *flags], capture_output=True,
                            text=True, timeout=600, env=env)
    return result, json.loads(result.stdout)


def record(folder, run_id):
    return json.loads((folder / ".cellpipe" / "runs" / run_id / "run.json").read_text())


def test_the_imports_cell_runs_once_and_every_step_log_starts_with_its_output(cellpipe_cli, tmp_path):
    counter = tmp_path / "prelude-runs"
    cells = [
        (f"import random\nrandom.seed(5)\nwith open({str(counter)!r}, 'a') as f:\n    f.write('x')\n"
         "print('prelude done')", ["imports"]),
        ("a = random.random()", ["step:first"]),
        ("b = random.random()", ["step:second"]),
        ("c = round(a + b, 12)", ["step:both", "prev:first", "prev:second"]),
        ("print(c)", ["pipeline-metrics"]),
    ]
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    result, forked = run(cellpipe_cli, path)
    assert forked["status"] == "succeeded", result.stderr
    assert forked["processes"] == {"kind": "forked"}
    assert counter.read_text() == "x"
    for step in ("first", "second", "both"):
        log = (tmp_path / ".cellpipe" / "runs" / forked["run"] / "logs" / f"{step}.log").read_text()
        assert log.startswith("prelude done\n"), log
    counter.unlink()
    result, fresh = run(cellpipe_cli, path, "--no-warm")
    assert counter.read_text() == "xxx"
    assert fresh["processes"]["kind"] == "fresh" and "turned off" in fresh["processes"]["reason"]
    # The seed the imports cell set reaches each step as in a fresh Python (a fork reseeds `random`).
    assert forked["metrics"] == fresh["metrics"]


HAZARDS = {
    "thread": ("import threading, time\nthreading.Thread(target=time.sleep, args=(60,), name='poller', "
               "daemon=True).start()", "threads running (poller)"),
    "socket": ("import socket\nconn = socket.socket()", "socket open"),
    "file": ("journal = open('journal.txt', 'w')", "journal.txt open"),
}


@pytest.mark.parametrize("name", sorted(HAZARDS))
def test_a_prelude_a_fork_would_break_runs_in_fresh_pythons_and_says_why(cellpipe_cli, tmp_path, name):
    source, reason = HAZARDS[name]
    path = write_notebook(tmp_path / "nb.ipynb", [(source, ["imports"]), ("x = 1", ["step:one"]),
                                                  ("y = x + 1", ["step:two", "prev:one"])])
    result, data = run(cellpipe_cli, path)
    assert data["status"] == "succeeded", result.stderr
    assert data["processes"]["kind"] == "fresh"
    assert reason in data["processes"]["reason"]
    assert reason in record(tmp_path, data["run"])["processes"]["reason"]
    human = subprocess.run([cellpipe_cli, "run", str(path), "--no-cache"], capture_output=True, text=True, timeout=600)
    assert "steps started as fresh Pythons, not forked: " in human.stderr and reason in human.stderr


def test_a_failing_imports_cell_fails_each_step_at_that_cell_as_before(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [("import json\nimport no_such_module_here", ["imports"]),
                                                  ("x = 1", ["step:one"])])
    result, data = run(cellpipe_cli, path)
    assert data["status"] == "failed"
    assert data["processes"]["kind"] == "fresh" and "failed" in data["processes"]["reason"]
    [step] = data["steps"]
    assert step["error"]["cell"] == 0 and "ModuleNotFoundError" in step["error"]["message"]


@pytest.mark.parametrize("warm", ["1", "0"])
def test_cancelling_stops_the_running_step_and_what_it_started(cellpipe_cli, tmp_path, warm):
    marker = tmp_path / "child.pid"
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("import subprocess, time", ["imports"]),
        (f"p = subprocess.Popen(['sleep', '600'])\nopen({str(marker)!r}, 'w').write(str(p.pid))\ntime.sleep(600)",
         ["step:slow"]),
    ])
    cli = subprocess.Popen([cellpipe_cli, "run", str(path), "--json", "--no-cache"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "CELLPIPE_WARM": warm})
    deadline = time.time() + 120
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the step did not start"
    grandchild = int(marker.read_text())
    runs = list((tmp_path / ".cellpipe" / "runs").glob("*/run.json"))
    step_pid = json.loads(runs[0].read_text())["steps"]["slow"]["process"]["pid"]
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=60)
    data = json.loads(out)
    assert data["status"] == "cancelled", err
    assert data["processes"]["kind"] == ("forked" if warm == "1" else "fresh")
    for pid in (step_pid, grandchild):
        deadline = time.time() + 20
        while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                break
            time.sleep(0.2)
        alive = os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
        assert not alive, f"process {pid} still runs after the run was cancelled"


def outputs(folder, run_id, step):
    return json.loads((folder / ".cellpipe" / "runs" / run_id / "steps" / step / "outputs.json").read_text())


def test_without_an_imports_cell_the_steps_imports_are_imported_once_and_compute_the_same(cellpipe_cli, tmp_path):
    # No imports cell: each step imports what it uses, as a notebook of single cells does. The warm Python
    # imports them before it forks the steps; the plots (the image bytes) and the text are a fresh Python's.
    (tmp_path / "helper.py").write_text("print('helper imported')\nSCALE = 3\n")
    cells = [
        ("import matplotlib.pyplot as plt\nimport numpy as np\nimport xml.dom.minidom\n"
         "plt.rcParams['lines.linewidth'] = 4\nxs = np.arange(10)", ["step:setup"]),
        ("import matplotlib.pyplot as plt\nplt.plot(xs, xs ** 2)\nplt.show()", ["step:draw", "prev:setup"]),
        ("import helper\nimport this\nimport numpy as np\nscaled = helper.SCALE * np.ones(3)\nprint(scaled)",
         ["step:scale", "prev:draw"]),
    ]
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    result, forked = run(cellpipe_cli, path)
    assert forked["status"] == "succeeded", result.stderr
    processes = forked["processes"]
    assert processes["kind"] == "forked"
    assert processes["imported"] == ["matplotlib.pyplot", "numpy", "xml.dom.minidom"]  # `import a.b`: a.b
    # Code of the notebook's folder runs in its cell, never early; a library that prints on import too.
    assert processes["left"] == {"helper": "not an installed library", "this": "it prints when imported"}
    assert record(tmp_path, forked["run"])["processes"] == processes
    result, fresh = run(cellpipe_cli, path, "--no-warm")
    assert fresh["status"] == "succeeded", result.stderr
    for step in ("setup", "draw", "scale"):
        assert outputs(tmp_path, forked["run"], step) == outputs(tmp_path, fresh["run"], step), step
    [image] = [o for o in outputs(tmp_path, forked["run"], "draw")["1"] if o["output_type"] == "display_data"]
    assert "image/png" in image["data"]
    text = "".join(o.get("text", "") for o in outputs(tmp_path, forked["run"], "scale")["2"])
    assert text.startswith("helper imported\nThe Zen of Python") and "[3. 3. 3.]" in text


def test_cancelling_while_the_warm_python_runs_the_imports_cell_cancels_the_run_and_ends_it(cellpipe_cli, tmp_path):
    marker = tmp_path / "warm.pid"
    path = write_notebook(tmp_path / "nb.ipynb", [
        (f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)", ["imports"]),
        ("x = 1", ["step:one"]),
        ("y = x + 1", ["step:two", "prev:one"]),
    ])
    cli = subprocess.Popen([cellpipe_cli, "run", str(path), "--json", "--no-cache"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the warm Python did not start the imports cell"
    warm = int(marker.read_text())
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=60)
    data = json.loads(out)
    assert data["status"] == "cancelled", err
    steps = record(tmp_path, data["run"])["steps"]
    assert steps["one"]["status"] == "cancelled" and steps["two"]["status"] != "succeeded"
    assert not (tmp_path / ".cellpipe" / "runs" / data["run"] / "steps" / "one" / "complete.json").exists()
    deadline = time.time() + 20
    while os.path.exists(f"/proc/{warm}") and time.time() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{warm}"), "the warm Python still runs after the run was cancelled"


def group_members(group):
    """The processes of a process group (a warm Python's: it runs in a session of its own)."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry))
    return members


def test_once_the_run_ended_nothing_forked_from_the_warm_python_stays(cellpipe_cli, tmp_path):
    # The warm Python forks the next step's process before it is asked for: unused, it ends with it.
    marker = tmp_path / "warm.pid"
    path = write_notebook(tmp_path / "nb.ipynb", [
        (f"import os\nopen({str(marker)!r}, 'w').write(str(os.getpid()))", ["imports"]),
        ("x = 1", ["step:one"]),
        ("y = x + 1", ["step:two", "prev:one"]),
    ])
    result, data = run(cellpipe_cli, path)
    assert data["status"] == "succeeded", result.stderr
    assert data["processes"] == {"kind": "forked"}
    warm = int(marker.read_text())
    deadline = time.time() + 20
    while group_members(warm) and time.time() < deadline:
        time.sleep(0.2)
    assert group_members(warm) == [], "processes of the warm Python still run after its run ended"


def step_record(folder, run_id, step):
    return record(folder, run_id)["steps"][step]


# The provider makes arrays and a frame (held in memory and handed over), values that are not (a dict, a
# frame of strings), two names sharing memory (never handed: loading gives two copies), a name no step
# reads, and changes the prelude's array only by rebinding; the consumer changes what it got in place and
# says what it sees: its names, IPython's history, the values.
HANDOFF = [
    ("import numpy as np\nimport pandas as pd", ["imports"]),
    ("BASE = np.zeros(3)", ["functions"]),
    ("frame = pd.DataFrame({'a': np.arange(6, dtype=np.float64), 'b': np.arange(6)})\n"
     "array = np.ones(8)\nhalf = array[:4]\nlabels = pd.DataFrame({'s': ['x', 'y']})\nsmall = {'k': 2}\n"
     "scratch = 1\nBASE = np.ones(3)\nfor _ in range(2):\n    pass\n7", ["step:make"]),
    ("frame['a'] *= 2\narray[0] = 99.0\nseen = (float(frame['a'].sum()), float(half[0]), labels['s'].tolist(),\n"
     "        small, float(BASE.sum()), len(In), sorted(Out))\nnames = sorted(k for k in globals() if not k.startswith('__'))\n"
     "print(seen)\nprint(names)\nseen", ["step:use", "prev:make"]),
    ("print(seen)", ["pipeline-metrics"]),
]


def test_a_step_below_starts_as_a_fork_of_its_provider_and_sees_what_loading_its_inputs_gives(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", HANDOFF)
    result, forked = run(cellpipe_cli, path)
    assert forked["status"] == "succeeded", result.stderr
    assert step_record(tmp_path, forked["run"], "use")["handoff"] == {"from": "make"}
    result, fresh = run(cellpipe_cli, path, "--no-warm")
    assert fresh["status"] == "succeeded", result.stderr
    assert "handoff" not in step_record(tmp_path, fresh["run"], "use")
    # The same outputs (names, history, execution counts, values), metrics and saved files as loading gives.
    assert outputs(tmp_path, forked["run"], "use") == outputs(tmp_path, fresh["run"], "use")
    assert forked["metrics"] == fresh["metrics"]
    text = "".join(o.get("text", "") for o in outputs(tmp_path, forked["run"], "use")["3"])
    assert "(30.0, 1.0, ['x', 'y'], {'k': 2}, 3.0," in text and "'scratch'" not in text
    for run_id in (forked["run"], fresh["run"]):
        saved = json.loads((tmp_path / ".cellpipe" / "runs" / run_id / "steps" / "make" / "saved.json").read_text())
        assert sorted(saved) == ["BASE", "array", "frame", "half", "labels", "small"]


def test_a_provider_whose_cells_leave_a_thread_hands_nothing_over_and_says_why(cellpipe_cli, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("import threading, time\nimport numpy as np", ["imports"]),
        ("array = np.ones(4)\nthreading.Thread(target=time.sleep, args=(30,), name='poller', daemon=True).start()",
         ["step:make"]),
        ("total = float(array.sum())", ["step:use", "prev:make"]),
    ])
    result, data = run(cellpipe_cli, path)
    assert data["status"] == "succeeded", result.stderr
    record = step_record(tmp_path, data["run"], "use")
    # (a run that started its steps as fresh processes says why in its record's "processes")
    run_json = json.loads((tmp_path / ".cellpipe" / "runs" / data["run"] / "run.json").read_text())
    assert "handoff" in record, (record, run_json.get("processes"))
    handoff = record["handoff"]
    assert handoff["from"] == "make" and "threads running (poller)" in handoff["refused"]


def test_a_step_forked_from_a_provider_that_dies_before_saving_fails_and_both_run_again(cellpipe_cli, tmp_path):
    # The consumer kills its provider (the process it was forked from, still writing 256 MB): the provider
    # did not finish, so neither did the consumer, whose cells did run: the record says so. Running the
    # notebook again runs both (neither is in the cache) and they succeed.
    marker = tmp_path / "killed"
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("import json, os, signal\nimport numpy as np", ["imports"]),
        ("array = np.ones(32 << 20)", ["step:make"]),
        (f"marker = {str(marker)!r}\n"
         "if not os.path.exists(marker):\n"
         "    provider = json.load(open('../logs/make.process.json'))['pid']\n"
         "    assert provider == os.getppid()\n"
         "    open(marker, 'w').close()\n"
         "    os.kill(provider, signal.SIGKILL)\n"
         "total = float(array.sum())", ["step:use", "prev:make"]),
    ])
    result = subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    data = json.loads(result.stdout)
    assert data["status"] == "failed" and marker.exists(), result.stderr
    steps = record(tmp_path, data["run"])
    assert steps["steps"]["make"]["status"] == "failed" and "SIGKILL" in steps["steps"]["make"]["error"]["message"]
    use = steps["steps"]["use"]
    assert use["status"] == "failed" and use["handoff"] == {"from": "make"}
    assert "its cells ran, and run again" in use["error"]["message"]
    assert any("resuming the run runs both again" in w for w in steps["warnings"])
    result = subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    again = json.loads(result.stdout)
    assert again["status"] == "succeeded", result.stderr
    assert [s["cached"] for s in again["steps"]] == [False, False]
    assert again["steps"][1]["name"] == "use"


def test_a_forked_step_reports_done_with_its_record_before_its_process_ends(cellpipe_cli, tmp_path):
    # The engine counts a forked step finished on this report (the steps below start at once) rather than at
    # its exit, which frees the fork's memory (up to tenths of a second). Asked of the warm Python directly,
    # as the engine asks it, with the programs of a run the CLI prepared.
    path = write_notebook(tmp_path / "nb.ipynb", [("import json", ["imports"]), ("x = 1", ["step:one"])])
    result, data = run(cellpipe_cli, path)
    assert data["status"] == "succeeded", result.stderr
    run_dir = tmp_path / ".cellpipe" / "runs" / data["run"]
    shutil.rmtree(run_dir / "steps" / "one")
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()

    def fds():
        os.dup2(requests_r, 3)
        os.dup2(replies_w, 4)

    program, log = str(run_dir / "programs" / "one.py"), tmp_path / "warm.log"
    with open(log, "w") as out:
        warm = subprocess.Popen([sys.executable, program, "--warm", str(log)], cwd=run_dir / "workspace", stdout=out,
                                stderr=out, preexec_fn=fds, close_fds=False)
    os.close(requests_r)
    os.close(replies_w)
    replies = os.fdopen(replies_r, "r")

    def reply():
        assert select.select([replies], [], [], 120)[0], "no reply from the warm Python"
        return json.loads(replies.readline())

    try:
        assert reply()["event"] == "ready"
        request = {"id": 1, "program": program, "args": [str(run_dir), str(run_dir / "parameters.json")],
                   "cwd": str(run_dir / "workspace"), "log": str(run_dir / "logs" / "one.log"),
                   "identity": str(run_dir / "logs" / "one.process.json")}
        os.write(requests_w, (json.dumps(request) + "\n").encode())
        started = reply()
        assert started["event"] == "started"
        done = reply()
        assert done == {"event": "done", "pid": started["pid"],
                        "record": json.loads((run_dir / "steps" / "one" / "complete.json").read_text())}
        assert done["record"]["step"] == "one"
        assert reply() == {"event": "exit", "pid": started["pid"], "code": 0, "signal": None}
    finally:
        os.close(requests_w)
        warm.wait(timeout=60)
        replies.close()
