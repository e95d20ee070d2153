"""What it costs to pass on an input a method call may have changed (`x = rng.normal()`, `model.predict(X)`
when `predict` is not known to change nothing): the runtime fingerprints it when it is loaded and before the
step saves, and links the provider's files when nothing changed instead of saving it again.

Prints, per value: the fingerprint (taken twice per step), saving it again, and passing it on unchanged.

    .venv/bin/python bench/fingerprint.py
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

from cellpipe import runtime  # noqa: E402


def timed(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def values():
    rng = np.random.default_rng(0)
    yield "numpy generator", rng
    yield "array 100 MB (float64)", rng.normal(size=(12_500_000,))
    frame = pd.DataFrame({"x{}".format(i): rng.normal(size=1_000_000) for i in range(10)})
    frame["label"] = np.where(frame["x0"] > 0, "up", "down")
    yield "DataFrame 1M rows x 11 columns", frame
    X = rng.normal(size=(5000, 20))
    yield "random forest (100 trees)", RandomForestClassifier(random_state=0).fit(X, X[:, 0] > 0)
    yield "dict of 100k Python floats", {str(i): float(i) for i in range(100_000)}


def main():
    print("fingerprint cost (median of 5 runs; a step takes the fingerprint twice: at load and before saving)")
    print("{:34s} {:>10s} {:>14s} {:>12s} {:>10s}".format("value", "size", "fingerprint", "save again", "pass on"))
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, value) in enumerate(values()):
            source, target = os.path.join(tmp, "a{}".format(index)), os.path.join(tmp, "b{}".format(index))
            runtime.save_value(source, "v", value)
            size = sum(f.stat().st_size for f in Path(source).iterdir())
            fp = timed(lambda: runtime.fingerprint(value))
            save = timed(lambda: runtime.save_value(target, "v", value))
            link = timed(lambda: runtime.pass_on(source, target, "v"))
            print("{:34s} {:>8.1f}MB {:>11.1f} ms {:>9.1f} ms {:>7.2f} ms".format(name, size / 1e6, fp, save, link))
            assert runtime.fingerprint(value) == runtime.fingerprint(value)


if __name__ == "__main__":
    main()
