"""Local engine benchmarks (issues 3 and 13). Prints its figures, each measured side by side in one run,
REPS times (min-max); not a test. The machine may be shared: read the ranges, not one figure.

Run: make bench   (or .venv/bin/python bench/engine.py [--quick] [--reps N] [--only 3,4])

1. per-step overhead of a 10-step pipeline of trivial steps whose imports cell imports pandas, scikit-learn
   and matplotlib: what one more step costs (10 steps minus 1 step, over 9), with steps forked from a warm
   Python (the default) and as fresh Pythons (--no-warm), against papermill running each step as its own
   notebook with the same imports (goal: <= 0.1 s and <= 1/10 of papermill per step);
2. four independent CPU-bound steps (0.5 s and 5 s each) against the same notebook run top to bottom
   (goal: >= 1.85x on 2 cores);
3. a real notebook, every cell a step: the pipeline against its top-to-bottom run (goal: <= 0.8x);
4. passing a DataFrame and an ndarray of SIZE between two steps, the consumer reading every byte: its
   critical path in the pipeline (forked from the provider's finished process, which writes the files
   meanwhile) vs pickle's dump+load+read (goal: at least 3x), and the provider's write vs a raw disk write of
   the same bytes (goal: at least 50 %).

"Top to bottom" is nbclient executing the notebook in a new kernel (what Restart and Run All costs), and also
in a kernel already started. The pipeline is timed through the CLI (`cellpipe run`, a process of its own
that starts its warm Python) and through the server, as Run in JupyterLab does it: the notebook's warm
Python is kept between runs, so a run after the first forks its steps at once (runs with --no-cache).
"""

import http.client
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
CLI = str(REPO / ".venv" / "bin" / "cellpipe")
PYTHON = str(REPO / ".venv" / "bin" / "python")
QUICK = "--quick" in sys.argv
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else (1 if QUICK else 3)
# --only 3,4: just those benchmarks (numbered as below)
ONLY = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else {"1", "2", "3", "4"}
GB = 1 << 30
SIZE = (GB // 8) if QUICK else GB
IMPORTS = "import pandas as pd\nimport sklearn\nfrom sklearn.linear_model import LogisticRegression\nimport matplotlib.pyplot as plt"


def notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def span(values, unit="s", digits=2):
    """min-max of the repetitions."""
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}f}-{hi:.{digits}f} {unit}".strip() if len(values) > 1 else f"{lo:.{digits}f} {unit}".strip()


def cellpipe_run(path, *flags):
    start = time.perf_counter()
    out = subprocess.run([CLI, "run", str(path), "--json", "--no-cache", *flags], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    data = json.loads(out.stdout)
    assert data["status"] == "succeeded", out.stderr
    return seconds, data


def top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def in_started_kernel(path):
    """Top to bottom in a kernel that is already running: the cells' own time."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        return time.perf_counter() - start


class Server:
    """The cellpipe server on a loopback port, as JupyterLab starts it (one process, warm Pythons kept)."""

    def __init__(self, root):
        self.root = root
        self.proc = subprocess.Popen(["node", str(REPO / "cellpipe" / "js" / "server.js"), "--port", "0", "--root",
                                      str(root), "--python", PYTHON], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        self.port = int(re.search(r":(\d+)\s*$", line).group(1))

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())

    def run(self, path):
        """Seconds from Run to the run's end, and its record."""
        name = str(Path(path).relative_to(self.root))
        start = time.perf_counter()
        run = self.call("POST", "/api/runs", {"notebook": name, "cache": False})["run"]
        while True:
            record = self.call("GET", f"/api/runs/{run}?notebook={name}")
            if record["status"] != "running":
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        assert record["status"] == "succeeded", record.get("reason")
        return seconds, record

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def overhead(work):
    """What one more step costs, from the run record: the time from the end of the first step to the end of
    the tenth, over nine (the CLI's start and the warm Python's prelude come before the first step ends)."""
    cells = [(IMPORTS, ["imports"]), ("x0 = 0", ["step:s0"])]
    cells += [(f"x{i} = x{i - 1} + 1", [f"step:s{i}", f"prev:s{i - 1}"]) for i in range(1, 10)]
    ten = notebook(work / "trivial10.ipynb", cells)
    import papermill

    step = notebook(work / "step.ipynb", [(IMPORTS, []), ("x = 1", [])])
    figures = {"forked": [], "fresh": [], "papermill": []}
    for _ in range(REPS):
        for kind, flags in (("forked", ()), ("fresh", ("--no-warm",))):
            _, data = cellpipe_run(ten, *flags)
            assert data["processes"]["kind"] == kind, data["processes"]
            record = json.loads((work / ".cellpipe" / "runs" / data["run"] / "run.json").read_text())
            ends = [record["steps"][f"s{i}"]["finished"] for i in (0, 9)]
            first, last = (datetime.fromisoformat(e.replace("Z", "+00:00")).timestamp() for e in ends)
            figures[kind].append((last - first) / 9)
        start = time.perf_counter()
        papermill.execute_notebook(str(step), str(work / "out.ipynb"), kernel_name="python3", progress_bar=False,
                                   log_output=False)
        figures["papermill"].append(time.perf_counter() - start)
    ratios = [f / p for f, p in zip(figures["forked"], figures["papermill"])]
    print(f"1. per-step overhead, 10 trivial steps, imports cell with pandas, scikit-learn, matplotlib ({REPS} runs): "
          f"forked {span(figures['forked'])}/step (goal <= 0.1 s), fresh {span(figures['fresh'])}/step, "
          f"papermill {span(figures['papermill'])}/step; forked/papermill {span(ratios, '')} (goal <= 0.10)")


def pipeline_vs_notebook(server, path):
    """REPS of: top to bottom (new kernel, started kernel), the CLI, the server's second run."""
    rows = {"new kernel": [], "started kernel": [], "cli": [], "server": []}
    server.run(path)  # the notebook is open: its warm Python starts with its first run
    for _ in range(REPS):
        rows["new kernel"].append(top_to_bottom(path))
        rows["started kernel"].append(in_started_kernel(path))
        rows["cli"].append(cellpipe_run(path)[0])
        rows["server"].append(server.run(path)[0])
    return rows


def parallel(work, server):
    """Steps of about half a second are dominated by fixed costs (process start, loading inputs, the
    kernel start of the notebook run); steps of several seconds show what parallel steps gain."""
    loop = "def burn(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total"
    # Calibrated here: n such that one step takes about 0.5 s and 5 s on this machine, now.
    start = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i * i % 7
    per = (time.perf_counter() - start) / 2_000_000
    for goal in ((0.5,) if QUICK else (0.5, 5.0)):
        n = int(goal / per)
        ceiling = [machine_ceiling(n) for _ in range(REPS)]
        cells = [(loop, ["functions"])]
        cells += [(f"r{i} = burn({n})", [f"step:burn{i}"]) for i in range(4)]
        cells += [("total = r0 + r1 + r2 + r3", ["step:total", "prev:burn0", "prev:burn1", "prev:burn2", "prev:burn3"])]
        path = notebook(work / f"parallel{n}.ipynb", cells)
        rows = pipeline_vs_notebook(server, path)
        print(f"2. four CPU-bound steps of ~{goal} s ({REPS} runs): top to bottom {span(rows['new kernel'])} (new kernel), "
              f"{span(rows['started kernel'])} (started kernel); pipeline {span(rows['server'])} (server, warm Python "
              f"kept), {span(rows['cli'])} (cellpipe run); speed-up "
              f"{span([a / b for a, b in zip(rows['new kernel'], rows['server'])], 'x')} against a new kernel, "
              f"{span([a / b for a, b in zip(rows['started kernel'], rows['server'])], 'x')} against a started one "
              f"(goal >= 1.85x on {os.cpu_count()} cores); this machine's ceiling: the four loops as four plain "
              f"Pythons, all at once against one after another, {span(ceiling, 'x')}")


def machine_ceiling(n):
    """How much faster the four loops of `parallel` run as four Python processes at once than one after
    another, with nothing of cellpipe or Jupyter: what the cores give (two vCPUs may share one core)."""
    code = f"total = 0\nfor i in range({n}):\n    total += i * i % 7"
    start = time.perf_counter()
    for _ in range(4):
        subprocess.run([PYTHON, "-c", code], check=True)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    for process in [subprocess.Popen([PYTHON, "-c", code]) for _ in range(4)]:
        process.wait()
    return serial / (time.perf_counter() - start)


def real_notebook(work, server):
    sys.path.insert(0, str(REPO))
    from cellpipe.tests import corpus

    [source] = corpus.fetch(["seaborn-set_theme"]).values()
    nb = corpus.tag(nbformat.read(source, as_version=4), "every-cell")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cases = [("seaborn-set_theme (corpus), every cell a step", work / "seaborn.ipynb", nb),
             ("iris-classifier (examples), as tagged", work / "iris.ipynb",
              nbformat.read(REPO / "examples" / "iris-classifier.ipynb", as_version=4))]
    for label, path, content in cases:
        nbformat.write(content, path)
        steps = len(json.loads(subprocess.run([CLI, "analyze", str(path), "--json"], capture_output=True,
                                              text=True).stdout)["steps"])
        rows = pipeline_vs_notebook(server, path)
        print(f"3. {label}, {steps} steps ({REPS} runs): top to bottom {span(rows['new kernel'])} (new kernel), "
              f"{span(rows['started kernel'])} (started kernel); pipeline {span(rows['server'])} (server, warm "
              f"Python kept), {span(rows['cli'])} (cellpipe run); pipeline/top to bottom "
              f"{span([b / a for a, b in zip(rows['new kernel'], rows['server'])], 'x')} (new kernel), "
              f"{span([b / a for a, b in zip(rows['started kernel'], rows['server'])], 'x')} (started kernel), "
              f"cellpipe run {span([b / a for a, b in zip(rows['new kernel'], rows['cli'])], 'x')} (goal <= 0.8x)")


def passing(work):
    """The consumer starts as a fork of the provider's finished process (its critical path: the fork and reading
    every byte) while the provider writes its files; against pickle (dump, load, read) and raw disk speed, in
    the same round. Each round: the pipeline, then raw, pickle and cellpipe's formats in this process.

    The provider's save is compared with a new Python making the same frame and array as the provider step
    and writing their bytes, cellpipe's formats in this process with a raw write and read in this process: a
    write's speed here depends on where its page-cache pages come from. This VM's balloon reports
    freed memory to the host (VIRTIO_BALLOON_F_REPORTING) about 2 s after it is freed, and a page the host
    took back costs a fault on the host when it is used again (writing 1 GiB: 0.25 s into just-freed pages,
    0.5-1.5 s into reported ones). Each timed part starts after `settle()`, and both writers allocate the
    same memory before writing, so that both take their pages from the same kind of pool."""
    rows = SIZE // 16
    cells = [
        ("import numpy as np\nimport pandas as pd", ["imports"]),
        (f"frame = pd.DataFrame({{'a': np.arange({rows}, dtype=np.float64), 'b': np.ones({rows})}})\n"
         f"array = np.ones({SIZE // 8}, dtype=np.float64)", ["step:make"]),
        ("checksum = float(frame['a'].sum() + frame['b'].sum() + array.sum())", ["step:use", "prev:make"]),
    ]
    path = notebook(work / "passing.ipynb", cells)

    # None of the calls below fsync (the runtime's atomic writes rename, they do not force the data to disk).
    import numpy as np
    import pandas as pd
    from cellpipe import runtime

    frame = pd.DataFrame({"a": np.arange(rows, dtype=np.float64), "b": np.ones(rows)})
    array = np.ones(SIZE // 8, dtype=np.float64)
    read_all = lambda f, a: float(f["a"].sum() + f["b"].sum() + a.sum())  # noqa: E731
    raw = work / "raw.bin"
    # The provider step's imports and cells, then the raw write of what they made.
    raw_writer = (
        f"import sys, time\n{cells[0][0]}\n{cells[1][0]}\n"
        "start = time.perf_counter()\n"
        "with open(sys.argv[1], 'wb') as f:\n"
        "    for column in (frame['a'].to_numpy(), frame['b'].to_numpy(), array):\n"
        "        f.write(memoryview(column))\n"
        "print(time.perf_counter() - start)\n"
    )

    def settle():
        """Nothing of the part before waits to be written back, and the memory it freed is reported."""
        os.sync()
        time.sleep(3)
    figures = {k: [] for k in ("critical", "handover", "consumer", "saving", "raw write", "raw", "pickle", "cellpipe",
                               "save", "load")}
    saved, handoffs = 0, set()
    for _ in range(REPS):
        settle()
        _, data = cellpipe_run(path)
        run_dir = work / ".cellpipe" / "runs" / data["run"]
        make, use = (json.loads((run_dir / "steps" / s / "timing.json").read_text()) for s in ("make", "use"))
        handoffs.add(json.dumps(json.loads((run_dir / "run.json").read_text())["steps"]["use"].get("handoff")))
        figures["critical"].append(use["ran"] - make["ran"])
        figures["handover"].append(use["started"] - make["ran"])
        figures["consumer"].append(use["ran"] - use["started"])
        figures["saving"].append(make["finished"] - make["ran"])
        saved = sum(f.stat().st_size for f in (run_dir / "data" / "make").iterdir() if not f.name.endswith(".json"))
        shutil.rmtree(run_dir / "data")  # room on disk for the rounds below

        settle()
        figures["raw write"].append(float(subprocess.run([PYTHON, "-c", raw_writer, str(raw)], check=True,
                                                         capture_output=True, text=True).stdout))
        raw.unlink()
        settle()
        start = time.perf_counter()
        with open(raw, "wb") as f:
            for column in (frame["a"].to_numpy(), frame["b"].to_numpy(), array):
                f.write(memoryview(column))
        with open(raw, "rb") as f:
            while f.read(1 << 24):
                pass
        figures["raw"].append(time.perf_counter() - start)
        raw.unlink()
        settle()
        start = time.perf_counter()
        with open(work / "p.pkl", "wb") as f:
            pickle.dump((frame, array), f, protocol=pickle.HIGHEST_PROTOCOL)
        with open(work / "p.pkl", "rb") as f:
            read_all(*pickle.load(f))
        figures["pickle"].append(time.perf_counter() - start)
        (work / "p.pkl").unlink()
        settle()
        start = time.perf_counter()
        runtime.save_value(str(work / "d"), "frame", frame)
        runtime.save_value(str(work / "d"), "array", array)
        saved_at = time.perf_counter()
        read_all(runtime.load_value(str(work / "d"), "frame"), runtime.load_value(str(work / "d"), "array"))
        end = time.perf_counter()
        figures["cellpipe"].append(end - start)
        figures["save"].append(saved_at - start)
        figures["load"].append(end - saved_at)
        shutil.rmtree(work / "d")
    f = figures
    to_pickle = [p / c for p, c in zip(f["pickle"], f["critical"])]
    save_speed = [100 * r / s for r, s in zip(f["raw write"], f["saving"])]
    to_raw = [100 * r / c for r, c in zip(f["raw"], f["cellpipe"])]
    print(f"4. passing {2 * SIZE / GB:.2f} GiB ({saved / GB:.2f} GiB on disk) between two steps, the consumer reading "
          f"every byte ({REPS} runs; use's inputs: {', '.join(sorted(handoffs))}): in the pipeline the consumer's "
          f"cells ended {span(f['critical'])} after the provider's (its critical path: forked after "
          f"{span(f['handover'])}, its inputs and cells {span(f['consumer'])}), while the provider saved its "
          f"files in {span(f['saving'])}; pickle dump+load+read {span(f['pickle'])}: {span(to_pickle, 'x', 1)} faster "
          f"than pickle (goal >= 3x). Writing: the provider's save at {span(save_speed, '%', 0)} of raw write speed "
          f"(a new Python making the same values and writing their bytes: {span(f['raw write'])}; goal >= 50%); "
          f"in one process cellpipe save+load+read {span(f['cellpipe'])} "
          f"(save {span(f['save'])}, load+read {span(f['load'])}) against raw write+read {span(f['raw'])}: "
          f"{span(to_raw, '%', 0)} of raw speed")


def main():
    work = Path(tempfile.mkdtemp(prefix="cellpipe-bench-"))
    print(f"bench/engine.py: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    server = Server(work)
    try:
        for number, bench in (("1", lambda: overhead(work)), ("2", lambda: parallel(work, server)),
                              ("3", lambda: real_notebook(work, server)), ("4", lambda: passing(work))):
            if number in ONLY:
                bench()
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
