"""Local engine benchmarks (issue 3). Prints its figures; not a test.

Run: make bench   (or .venv/bin/python bench/engine.py [--quick])

1. per-step overhead of a trivial 10-step pipeline vs executing each step as
   its own notebook with papermill (goal: at most 1/3);
2. four independent CPU-bound steps vs the same notebook run top to bottom
   (goal: at least 1.8x on 2 cores);
3. passing a DataFrame and an ndarray of SIZE between two steps vs a raw disk
   write+read of the same bytes (goal: at least 50 %) and vs pickle (goal: at
   least 3x).
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
CLI = str(REPO / ".venv" / "bin" / "cellpipe")
QUICK = "--quick" in sys.argv
GB = 1 << 30
SIZE = (GB // 8) if QUICK else GB


def notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def cellpipe_run(path):
    start = time.perf_counter()
    out = subprocess.run([CLI, "run", str(path), "--json", "--no-cache"], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads(out.stdout)


def top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def overhead(work):
    cells = [("x0 = 0", ["step:s0"])] + [(f"x{i} = x{i - 1} + 1", [f"step:s{i}", f"prev:s{i - 1}"]) for i in range(1, 10)]
    path = notebook(work / "trivial.ipynb", cells)
    cellpipe_seconds, _ = cellpipe_run(path)
    try:
        import papermill
    except ImportError:
        print("1. overhead: papermill is not installed (pip install papermill); cellpipe took "
              f"{cellpipe_seconds:.2f} s for 10 trivial steps")
        return
    start = time.perf_counter()
    for i in range(10):
        step = notebook(work / f"step{i}.ipynb", [(f"x = {i}", [])])
        papermill.execute_notebook(str(step), str(work / f"out{i}.ipynb"), kernel_name="python3", progress_bar=False, log_output=False)
    papermill_seconds = time.perf_counter() - start
    print(f"1. per-step overhead, 10 trivial steps: cellpipe {cellpipe_seconds / 10:.2f} s/step, "
          f"papermill {papermill_seconds / 10:.2f} s/step, ratio {cellpipe_seconds / papermill_seconds:.2f} (goal <= 0.33)")


def parallel(work):
    """Steps of about half a second are dominated by fixed costs (process start, loading inputs, the
    kernel start of the notebook run); steps of several seconds show what parallel steps gain."""
    loop = "def burn(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total"
    for n in (3_000_000,) if QUICK else (12_000_000, 100_000_000):
        cells = [(loop, ["functions"])]
        cells += [(f"r{i} = burn({n})", [f"step:burn{i}"]) for i in range(4)]
        cells += [("total = r0 + r1 + r2 + r3", ["step:total", "prev:burn0", "prev:burn1", "prev:burn2", "prev:burn3"])]
        path = notebook(work / f"parallel{n}.ipynb", cells)
        sequential = top_to_bottom(path)
        pipeline, data = cellpipe_run(path)
        assert data["status"] == "succeeded"
        step = max(s["seconds"] for s in data["steps"])
        print(f"2. four CPU-bound steps of {step:.1f} s: notebook top to bottom {sequential:.2f} s, pipeline "
              f"{pipeline:.2f} s, speed-up {sequential / pipeline:.2f}x (goal >= 1.8x on {os.cpu_count()} cores)")


def passing(work):
    rows = SIZE // 16
    cells = [
        ("import numpy as np\nimport pandas as pd", ["imports"]),
        (f"frame = pd.DataFrame({{'a': np.arange({rows}, dtype=np.float64), 'b': np.ones({rows})}})\n"
         f"array = np.ones({SIZE // 8}, dtype=np.float64)", ["step:make"]),
        ("checksum = float(frame['a'].iloc[-1] + frame['b'].sum() + array[-1])", ["step:use", "prev:make"]),
    ]
    path = notebook(work / "passing.ipynb", cells)
    _, data = cellpipe_run(path)
    run_dir = work / ".cellpipe" / "runs" / data["run"]
    make = json.loads((run_dir / "steps" / "make" / "timing.json").read_text())
    use = json.loads((run_dir / "steps" / "use" / "timing.json").read_text())
    saved = sum(f.stat().st_size for f in (run_dir / "data" / "make").iterdir() if not f.name.endswith(".json"))

    # The same bytes, written and read raw, and through pickle, in this process; none of the three
    # calls fsync (the runtime's atomic writes rename, they do not force the data to disk).
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(rows, dtype=np.float64), "b": np.ones(rows)})
    array = np.ones(SIZE // 8, dtype=np.float64)
    raw = work / "raw.bin"
    start = time.perf_counter()
    with open(raw, "wb") as f:
        f.write(frame["a"].to_numpy().tobytes())
        f.write(frame["b"].to_numpy().tobytes())
        f.write(array.tobytes())
    raw.read_bytes()
    raw_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with open(work / "p.pkl", "wb") as f:
        pickle.dump((frame, array), f, protocol=pickle.HIGHEST_PROTOCOL)
    with open(work / "p.pkl", "rb") as f:
        pickle.load(f)
    pickle_seconds = time.perf_counter() - start
    # save = end of `make` minus the end of its cells is not recorded separately: measure save+load directly.
    from cellpipe import runtime

    start = time.perf_counter()
    runtime.save_value(str(work / "d"), "frame", frame)
    runtime.save_value(str(work / "d"), "array", array)
    f2 = runtime.load_value(str(work / "d"), "frame")
    a2 = runtime.load_value(str(work / "d"), "array")
    float(f2["a"].iloc[-1] + f2["b"].sum() + a2[-1])  # touch the data, as the step does
    cellpipe_seconds = time.perf_counter() - start
    total = 2 * SIZE
    print(f"3. passing {total / GB:.2f} GiB ({saved / GB:.2f} GiB on disk) between two steps: cellpipe save+load "
          f"{cellpipe_seconds:.2f} s, raw write+read {raw_seconds:.2f} s ({raw_seconds / cellpipe_seconds:.0%} of raw "
          f"speed, goal >= 50%), pickle {pickle_seconds:.2f} s ({pickle_seconds / cellpipe_seconds:.1f}x, goal >= 3x); "
          f"steps took {make['finished'] - make['started']:.1f} s and {use['finished'] - use['started']:.1f} s")


def main():
    work = Path(tempfile.mkdtemp(prefix="cellpipe-bench-"))
    try:
        overhead(work)
        parallel(work)
        passing(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
