"""The step runtime on its own: serialisation by type, and running cells as IPython does."""

import base64
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from cellpipe import runtime


def roundtrip(tmp_path, value, name="v"):
    meta = runtime.save_value(str(tmp_path), name, value, step="s")
    return meta, runtime.load_value(str(tmp_path), name, step="t")


def test_dataframes_go_to_arrow_and_come_back_equal_with_their_index(tmp_path):
    df = pd.DataFrame(
        {"a": [1, 2, None], "b": ["x", "y", "z"], "t": pd.to_datetime(["2024-01-01"] * 3)},
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    meta, back = roundtrip(tmp_path, df)
    assert meta["format"] == "arrow"
    pd.testing.assert_frame_equal(back, df)


def test_a_loaded_frame_is_mapped_not_copied_and_the_step_may_change_it_without_changing_the_file(tmp_path):
    import tracemalloc

    rows = 4_000_000  # 32 MB a column
    df = pd.DataFrame({"a": np.arange(rows, dtype=np.float64), "n": np.arange(rows), "k": pd.Categorical(["x", "y"] * (rows // 2)),
                       "t": pd.date_range("2024-01-01", periods=rows, freq="s", tz="UTC")})
    df.attrs["source"] = "sensor"
    runtime.save_value(str(tmp_path), "df", df, step="s")
    tracemalloc.start()
    back = runtime.load_value(str(tmp_path), "df", step="t")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # The timestamps with their zone (8 bytes a row) and the category codes are the step's own copy; the two
    # numeric columns (16 bytes a row) are views of the file's mapping.
    assert peak < 10 * rows
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs == {"source": "sensor"}
    back.loc[0, "a"] = -1.0
    back.iloc[1, 1] = -2
    back.loc[2, "k"] = "y"
    back["a"] += 1
    assert (back.loc[0, "a"], back.iloc[1, 1], back.loc[2, "k"]) == (0.0, -2, "y")
    pd.testing.assert_frame_equal(runtime.load_value(str(tmp_path), "df", step="u"), df)


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"a": [1.0, np.nan, -0.0, np.inf], "b": np.float32([1, 2, np.nan, -np.inf])}),
        pd.DataFrame({"i": np.arange(3), "u": np.uint8([1, 2, 3]), "b": [True, False, True]}),
        pd.DataFrame({"a": [1.0, np.nan]}, index=pd.Index([10, 20], name="k")),
        pd.DataFrame({"a": [1.0, 2.0, np.nan]},
                     index=pd.MultiIndex.from_tuples([(1, 2), (1, 3), (2, 2)], names=["x", "y"])),
        pd.DataFrame({"a": [1.0, 2.0]}, index=pd.RangeIndex(5, 9, 2)).rename_axis("cols", axis=1),
        pd.DataFrame({"a": np.array([], dtype=float)}),
        pd.DataFrame({"a": [1.0, np.nan], "s": ["x", None], "n": pd.array([1, None], dtype="Int64")}),
    ],
    ids=["floats", "ints-bools", "index", "multiindex", "range-step", "empty", "mixed"],
)
def test_frames_of_numbers_come_back_with_the_same_bits_and_index(tmp_path, df):
    meta, back = roundtrip(tmp_path, df)
    assert meta["format"] == "arrow"
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    for i in range(df.shape[1]):
        if df.iloc[:, i].dtype.kind == "f":  # NaN, -0.0 and the infinities, bit for bit
            assert back.iloc[:, i].to_numpy().tobytes() == df.iloc[:, i].to_numpy().tobytes()


def test_a_float_column_with_nans_is_still_mapped_not_copied(tmp_path):
    import tracemalloc

    rows = 4_000_000  # 32 MB a column
    a = np.arange(rows, dtype=np.float64)
    a[::7] = np.nan
    df = pd.DataFrame({"a": a, "b": np.ones(rows, dtype=np.float32)})
    df.loc[3, "b"] = np.nan
    runtime.save_value(str(tmp_path), "df", df, step="s")
    tracemalloc.start()
    back = runtime.load_value(str(tmp_path), "df", step="t")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < rows  # a copy of either column would be 16 or 32 MB
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert int(back["a"].isna().sum()) == len(range(0, rows, 7))


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({0: [1, 2], 1: [3, 4]}),  # Arrow needs string column names
        pd.DataFrame({"mixed": [1, "two", 3.0]}),  # Arrow cannot hold a column of mixed objects
    ],
)
def test_dataframes_arrow_cannot_hold_go_to_pickle(tmp_path, df):
    meta, back = roundtrip(tmp_path, df)
    assert meta["format"] == "pickle"
    pd.testing.assert_frame_equal(back, df)


def test_arrays_are_npy_memory_mapped_and_still_writable(tmp_path):
    arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    meta, back = roundtrip(tmp_path, arr)
    assert meta["format"] == "npy"
    assert isinstance(back, np.memmap)
    back += 1  # a step may change its input in place, as in the notebook
    np.testing.assert_array_equal(back, arr + 1)
    np.testing.assert_array_equal(runtime.load_value(str(tmp_path), "v"), arr)  # the saved file is untouched


def test_estimators_are_pickled_and_predict_the_same(tmp_path):
    model = LinearRegression().fit([[0], [1], [2]], [0, 2, 4])
    meta, back = roundtrip(tmp_path, model)
    assert meta["format"] == "pickle"
    assert back.predict([[3]])[0] == pytest.approx(6)


def rule_hash(folder, name):
    """The content hash the lineage records, by its definition (save_value): SHA-256 over the value's files
    (NAME.json and its data file) in name order, each as name, NUL, bytes, NUL."""
    import hashlib

    digest = hashlib.sha256()
    for file in sorted(f for f in os.listdir(folder) if f == name + ".json" or
                       (f.startswith(name + ".") and f != name + runtime.HASH_SUFFIX)):
        digest.update(file.encode() + b"\0" + (folder / file).read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


@pytest.fixture
def data_reads(monkeypatch):
    """The value files (data and description) the runtime opens for reading."""
    reads = []
    real_open = open

    def watched(path, mode="r", *args, **kwargs):
        if "r" in mode and re.search(r"\.(npy|arrow|pkl|json)$", os.fspath(path)):
            reads.append(os.path.basename(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(runtime, "open", watched, raising=False)
    return reads


@pytest.mark.parametrize("value", [
    pd.DataFrame({"a": np.arange(300_000, dtype=np.float64), "b": np.ones(300_000)}),  # arrow, data file first
    np.arange(600_000, dtype=np.float64).reshape(1000, 600),  # npy, description first, a large write
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(10.0)[::2],
    {"k": [1, 2]},
    pd.DataFrame({"mixed": [1, "x"]}),  # arrow refused: pickled
    os,
], ids=["frame", "array", "fortran", "strided", "pickle", "arrow-fallback", "module"])
def test_a_value_is_saved_without_reading_it_back_and_hashed_by_the_rule(tmp_path, value, data_reads):
    meta = runtime.save_value(str(tmp_path), "v", value, step="s")
    assert data_reads == []  # the write, the critical path of the steps below, reads nothing
    assert "hash" not in meta and not (tmp_path / ("v" + runtime.HASH_SUFFIX)).exists()
    expected = rule_hash(tmp_path, "v")
    assert runtime.hash_value(str(tmp_path), "v") == expected  # later, once the step is done
    assert (tmp_path / ("v" + runtime.HASH_SUFFIX)).read_text() == expected
    if isinstance(value, np.ndarray):  # the file numpy.save writes, byte for byte
        buffer = __import__("io").BytesIO()
        np.save(buffer, value, allow_pickle=False)
        assert (tmp_path / "v.npy").read_bytes() == buffer.getvalue()


def test_a_value_passed_on_unchanged_keeps_its_providers_hash_without_reading_it(tmp_path, data_reads):
    provider, step = tmp_path / "make", tmp_path / "use"
    runtime.save_value(str(provider), "v", np.arange(1000.0), step="make")
    made = runtime.hash_value(str(provider), "v")
    data_reads.clear()
    passed = runtime.pass_on(str(provider), str(step), "v", step="use")
    assert data_reads == ["v.json"]  # its description, to know its files; the data is linked
    assert passed["unchanged"] is True
    data_reads.clear()
    assert runtime.hash_value(str(step), "v") == made == rule_hash(step, "v")
    assert data_reads == []  # the provider's hash, linked with its files


def test_a_value_passed_on_before_its_provider_hashed_it_gets_the_same_hash(tmp_path):
    provider, step = tmp_path / "make", tmp_path / "use"
    runtime.save_value(str(provider), "v", {"k": list(range(100))}, step="make")
    runtime.pass_on(str(provider), str(step), "v", step="use")  # forked from its process: it hashes later
    assert runtime.hash_value(str(step), "v") == runtime.hash_value(str(provider), "v") == rule_hash(step, "v")


def test_hash_saved_records_each_value_and_says_why_one_is_missing(tmp_path, capsys):
    data, step_dir = tmp_path / "data", tmp_path / "step"
    runtime.save_value(str(data), "a", np.arange(10.0), step="s")
    runtime.hash_saved(str(step_dir), {"a": str(data), "gone": str(data)})
    assert json.loads((step_dir / runtime.HASHES_FILE).read_text()) == {"a": rule_hash(data, "a")}
    assert "could not hash 'gone'" in capsys.readouterr().err


def test_modules_travel_as_references(tmp_path):
    meta, back = roundtrip(tmp_path, os)
    assert json.loads((tmp_path / "v.json").read_text()) == {
        "format": "module", "module": "os", "type": "builtins.module", "version": 1, "submodules": ["os.path"]}
    assert back is os


def test_notebook_functions_classes_and_lambdas_travel_by_value(tmp_path):
    # Defined in __main__ of another process, as in a step program; loaded here.
    code = textwrap.dedent(
        """
        import sys
        from cellpipe import runtime
        class Scaler:
            def __init__(self, k): self.k = k
            def __call__(self, x): return x * self.k
        double = lambda x: 2 * x
        def triple(x): return 3 * x
        for name, value in [("scaler", Scaler(5)), ("double", double), ("triple", triple)]:
            runtime.save_value(sys.argv[1], name, value)
        """
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert runtime.load_value(str(tmp_path), "scaler")(2) == 10
    assert runtime.load_value(str(tmp_path), "double")(2) == 4
    assert runtime.load_value(str(tmp_path), "triple")(2) == 6


def test_a_value_that_cannot_be_saved_names_step_variable_type_and_remedy(tmp_path):
    with pytest.raises(runtime.StepDataError) as info:
        runtime.save_value(str(tmp_path), "gen", (i for i in range(3)), step="prepare")
    message = str(info.value)
    assert "Step prepare" in message and "'gen'" in message and "generator" in message
    assert "create it again in the step that uses it" in message
    assert not [f for f in os.listdir(tmp_path) if not f.startswith(".")], "nothing half written"


def test_a_missing_input_says_to_rerun_the_upstream_step(tmp_path):
    with pytest.raises(runtime.StepDataError, match="Run the upstream step again"):
        runtime.load_value(str(tmp_path), "absent", step="s")


def spec(**kw):
    base = {"step": "s", "prelude": [], "parameters": {}, "ins": {}, "cells": [], "outs": [], "metrics": []}
    base.update(kw)
    return base


def run_program(tmp_path, step_spec, parameters=None):
    """A step runs as its own process, as the engine runs it."""
    code = "import json, sys\nfrom cellpipe import runtime\nsys.exit(runtime.main(json.loads(sys.argv[1]), sys.argv[1:]))"
    args = [sys.executable, "-c", code, json.dumps(step_spec), str(tmp_path)]
    if parameters is not None:
        (tmp_path / "params.json").write_text(json.dumps(parameters))
        args.append(str(tmp_path / "params.json"))
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def read(tmp_path, step, name):
    return json.loads((tmp_path / "steps" / step / name).read_text())


def test_cells_run_through_ipython_with_magics_and_rich_outputs(tmp_path):
    result = run_program(
        tmp_path,
        spec(
            prelude=[(0, "import math")],
            parameters={"n": 3},
            cells=[
                (2, "%time squares = [i * i for i in range(n)]\nfiles = !echo hello\nprint('sum', sum(squares))"),
                (3, "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))\nmath.sqrt(16)"),
            ],
            outs=["squares", "files"],
            metrics=["n"],
        ),
    )
    assert result.returncode == 0, result.stderr
    assert "sum 5" in result.stdout  # the log keeps what the cell printed
    outputs = read(tmp_path, "s", "outputs.json")
    [stream] = outputs["2"]
    assert stream["name"] == "stdout" and "Wall time" in stream["text"] and stream["text"].endswith("sum 5\n")
    kinds = [o["output_type"] for o in outputs["3"]]
    assert kinds == ["display_data", "execute_result"]
    assert outputs["3"][0]["data"]["text/html"] == "<b>bold</b>"
    assert outputs["3"][1]["data"]["text/plain"] == "4.0"
    assert runtime.load_value(str(tmp_path / "data" / "s"), "squares") == [0, 1, 4]
    assert list(runtime.load_value(str(tmp_path / "data" / "s"), "files")) == ["hello"]
    assert read(tmp_path, "s", "metrics.json") == {"n": 3}


def test_inputs_are_loaded_and_parameter_overrides_keep_their_type(tmp_path):
    runtime.save_value(str(tmp_path / "data" / "up"), "base", np.array([1.0, 2.0]))
    result = run_program(
        tmp_path,
        spec(parameters={"scale": 1.0}, ins={"base": "up"}, cells=[(1, "out = base * scale\nkind = type(scale).__name__")],
             outs=["out"], metrics=["kind"]),
        parameters={"scale": {"type": "float", "value": 3}},
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(runtime.load_value(str(tmp_path / "data" / "s"), "out"), [3.0, 6.0])
    assert read(tmp_path, "s", "metrics.json") == {"kind": "float"}


def test_a_failing_cell_records_the_cell_line_and_traceback(tmp_path):
    result = run_program(tmp_path, spec(cells=[(4, "x = 1"), (6, "y = 2\nz = 1 / 0")], outs=["x"]))
    assert result.returncode == 1
    error = read(tmp_path, "s", "error.json")
    assert (error["cell"], error["line"], error["ename"]) == (6, 2, "ZeroDivisionError")
    assert "cell 7, line 2 raised ZeroDivisionError" in error["message"]
    assert "cellpipe: step s failed" in result.stderr
    assert "ZeroDivisionError" in result.stderr  # the traceback is in the step's log
    [output] = read(tmp_path, "s", "outputs.json")["6"]
    assert (output["output_type"], output["ename"], output["evalue"]) == ("error", "ZeroDivisionError", "division by zero")
    assert any("1 / 0" in re.sub(r"\x1b\[[0-9;]*m", "", line) for line in output["traceback"])  # colours stripped
    assert not (tmp_path / "data" / "s").exists(), "a failed step saves nothing"


def test_plots_become_png_outputs_of_the_cell_that_drew_them(tmp_path):
    result = run_program(
        tmp_path,
        spec(
            prelude=[(0, "import matplotlib.pyplot as plt")],
            cells=[
                (1, "plt.plot([1, 2, 3])\nplt.show()"),
                (2, "fig, ax = plt.subplots()\n_ = ax.bar(['a', 'b'], [1, 2])"),
                (3, "x = 1"),
            ],
        ),
    )
    assert result.returncode == 0, result.stderr
    outputs = read(tmp_path, "s", "outputs.json")
    for cell in ("1", "2"):
        [image] = outputs[cell]
        assert image["output_type"] == "display_data"
        assert base64.b64decode(image["data"]["image/png"]).startswith(b"\x89PNG")
    assert outputs["3"] == []  # each figure is shown once, under its own cell


def test_outputs_become_one_html_page_for_the_kfp_ui():
    page = runtime.outputs_html("report <1>", {
        "3": [
            {"output_type": "stream", "name": "stdout", "text": "a < b & c\n"},
            {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}},
        ],
        "1": [{"output_type": "execute_result", "data": {"text/html": "<table><tr><td>1</td></tr></table>"}}],
        "5": [{"output_type": "error", "ename": "ValueError", "evalue": "bad",
               "traceback": ["\x1b[31mValueError\x1b[39m: bad <x>"]}],
        "7": [],
    })
    assert "<title>report &lt;1&gt;</title>" in page
    assert page.index("Cell 2") < page.index("Cell 4") < page.index("Cell 6")  # in notebook order
    assert "<pre>a &lt; b &amp; c\n</pre>" in page  # text is escaped
    assert "<img src='data:image/png;base64,iVBORw0KGgo='>" in page and "&lt;Figure&gt;" not in page
    assert "<table><tr><td>1</td></tr></table>" in page  # HTML as the cell produced it
    assert "<pre class='error'>ValueError: bad &lt;x&gt;</pre>" in page  # colours stripped
    assert "Cell 8" not in page


def test_outputs_for_argo_are_capped_images_first():
    small = {"0": [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]}
    assert json.loads(runtime.capped_outputs(small, limit=2048)) == small
    image = {"output_type": "display_data", "data": {"image/png": "A" * 5000, "text/plain": "<Figure>"}}
    slimmed = json.loads(runtime.capped_outputs({"0": [small["0"][0], image]}, limit=2048))
    assert slimmed["0"][0] == small["0"][0]
    assert "image not shown here" in slimmed["0"][1]["data"]["text/plain"]
    huge = {"2": [{"output_type": "stream", "name": "stdout", "text": "x" * 5000}]}
    [note] = json.loads(runtime.capped_outputs(huge, limit=2048))["2"]
    assert "larger than 2 KiB" in note["text"] and "run volume" in note["text"]
