"""What running a step's cells as a Jupyter kernel does costs: each step starts its cell runner once (the
interpreter, then ipykernel's kernel object, IPython's InteractiveShell without ipykernel, or plain Python
without IPython) and runs its cells through it. Prints, per way, the start of a step process that runs one
trivial cell (wall and CPU time, median of fresh processes) and the cost of one more cell in it; and the
kernel's start with its debugger (debugpy loaded first, as before the runtime hid it from ipykernel).

    .venv/bin/python bench/kernel.py [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[1] / "cellpipe" / "runtime.py"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
CELLS = 50

# One step process: (optionally) hide what a way lacks, start the runner, run one cell, then CELLS more.
CHILD = r"""
import importlib.util, json, os, resource, sys, time
start = time.perf_counter()
for name in sys.argv[2].split(",") if sys.argv[2] else []:
    sys.modules[name] = None
if sys.argv[3] == "debugpy":
    import debugpy
spec = importlib.util.spec_from_file_location("_cellpipe_runtime", sys.argv[1])
runtime = importlib.util.module_from_spec(spec)
sys.modules["_cellpipe_runtime"] = runtime
spec.loader.exec_module(runtime)
runner = runtime.CellRunner()
outputs, error = runner.run("x = 1\nx")
assert error is None, error
started = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
t = time.perf_counter()
for i in range({cells}):
    runner.run("y = x + {{}}\ny".format(i))
cell = (time.perf_counter() - t) / {cells}
way = "kernel" if runner.kernel is not None else "shell" if runner.shell is not None else "plain"
print(json.dumps({{"way": way, "start": started, "cpu": cpu, "cell": cell,
                  "debugger": getattr(runner.kernel, "debugger", None) is not None}}))
""".format(cells=CELLS)

WAYS = [
    ("ipykernel's kernel object (cellpipe's default)", "", ""),
    ("the same, debugpy loaded first (kernel with a debugger)", "", "debugpy"),
    ("IPython InteractiveShell (no ipykernel)", "ipykernel", ""),
    ("plain Python (no IPython)", "ipykernel,IPython", ""),
]


def measure(hide, preload):
    rows = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", CHILD, str(RUNTIME), hide, preload], check=True,
                             capture_output=True, text=True, env={**os.environ, "MPLBACKEND": ""})
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def main():
    bare = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", "import resource, time; t = time.perf_counter(); "
                              "u = resource.getrusage(resource.RUSAGE_SELF); print(u.ru_utime + u.ru_stime)"],
                             check=True, capture_output=True, text=True)
        bare.append(float(out.stdout))
    print("cell runner start per step ({} fresh processes each; median; the machine may be shared, so CPU "
          "time is the steadier figure)".format(RUNS))
    print("  {:58s} {:>10s} {:>10s} {:>12s}".format("", "wall ms", "CPU ms", "per cell ms"))
    print("  {:58s} {:>10s} {:>10.0f} {:>12s}".format("python3 alone (interpreter start)", "",
                                                      statistics.median(bare) * 1000, ""))
    for label, hide, preload in WAYS:
        rows = measure(hide, preload)
        print("  {:58s} {:>10.0f} {:>10.0f} {:>12.2f}   ({}{})".format(
            label, statistics.median(r["start"] for r in rows) * 1000,
            statistics.median(r["cpu"] for r in rows) * 1000, statistics.median(r["cell"] for r in rows) * 1000,
            rows[0]["way"], ", debugger" if rows[0]["debugger"] else ""))


if __name__ == "__main__":
    main()
