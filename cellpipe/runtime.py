"""cellpipe step runtime.

This file is embedded verbatim into every step program, so a step needs nothing
but Python (and IPython, for magics and rich outputs): no cellpipe install and
no download at run time. It runs one step: loads the step's inputs, runs its
cells as IPython would, saves its outputs, and records metrics, cell outputs
and errors as files in the run directory. Every file is written atomically.
"""

import importlib
import io
import json
import os
import pickle
import sys
import tempfile
import time
import traceback
import types

FORMAT_VERSION = 1


class StepDataError(Exception):
    """A value could not be saved or loaded; the message says which and what to do."""


# --- files -----------------------------------------------------------------


def atomic_write(path, write):
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-" + os.path.basename(path))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, data):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True, default=repr)

    atomic_write(path, write)


# --- serialisation by type -------------------------------------------------


def _type_name(value):
    t = type(value)
    return t.__module__ + "." + t.__qualname__


def _is_instance(value, module, names):
    """isinstance without importing a library the step never used."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    for name in names:
        cls = mod
        for part in name.split("."):
            cls = getattr(cls, part, None)
        if isinstance(cls, type) and isinstance(value, cls):
            return True
    return False


def _pickle_module():
    try:
        import cloudpickle  # classes, functions and lambdas defined in the notebook travel by value

        return cloudpickle
    except ImportError:
        return pickle


class _PickleOnly:
    """Marks a value whose preferred format failed: it is pickled."""

    def __init__(self, value):
        self.value = value


def _choose_format(value):
    if isinstance(value, _PickleOnly):
        return "pickle"
    if isinstance(value, types.ModuleType):
        return "module"
    if _is_instance(value, "pandas", ["DataFrame"]):
        if "pyarrow" in sys.modules or importlib.util.find_spec("pyarrow") is not None:
            if all(isinstance(c, str) for c in value.columns):
                # Arrow IPC, uncompressed: written at disk speed and read memory-mapped (Parquet's encoding
                # made passing a frame slower than pickle).
                return "arrow"
        return "pickle"
    if _is_instance(value, "numpy", ["ndarray"]) and value.dtype != object and type(value).__module__ == "numpy":
        return "npy"
    if _is_instance(value, "torch.nn", ["Module"]):
        return "torch"
    if _is_instance(value, "keras", ["Model"]):
        return "keras"
    if _is_instance(value, "sklearn.base", ["BaseEstimator"]):
        return "joblib" if importlib.util.find_spec("joblib") is not None else "pickle"
    return "pickle"


EXTENSIONS = {"arrow": ".arrow", "parquet": ".parquet", "npy": ".npy", "torch": ".pt", "keras": ".keras", "joblib": ".joblib", "pickle": ".pkl"}

UNSERIALISABLE_HINT = (
    "Values such as open files, generators, locks and connections cannot be passed between steps: "
    "create it again in the step that uses it, or pass the data it holds."
)


def save_value(folder, name, value, step="?"):
    """Save one variable as `folder/name.<ext>` plus `folder/name.json` describing it."""
    fmt = _choose_format(value)
    if isinstance(value, _PickleOnly):
        value = value.value
    meta = {"format": fmt, "type": _type_name(value), "version": FORMAT_VERSION}
    path = os.path.join(folder, name + EXTENSIONS.get(fmt, ""))
    try:
        if fmt == "module":
            meta["module"] = value.__name__
        elif fmt == "arrow":
            try:
                from pyarrow import feather

                atomic_write(path, lambda tmp: feather.write_feather(value, tmp, compression="uncompressed"))
            except Exception:  # a frame Arrow cannot hold (mixed object columns, ...): pickle it
                return save_value(folder, name, _PickleOnly(value), step)
        elif fmt == "npy":
            import numpy

            def write(tmp):
                with open(tmp, "wb") as f:
                    numpy.save(f, value, allow_pickle=False)

            atomic_write(path, write)
        elif fmt == "torch":
            import torch

            atomic_write(path, lambda tmp: torch.save(value, tmp))
        elif fmt == "keras":
            # keras wants the .keras suffix on the file it writes
            atomic_write(path, lambda tmp: (value.save(tmp + ".keras"), os.replace(tmp + ".keras", tmp)))
        elif fmt == "joblib":
            import joblib

            atomic_write(path, lambda tmp: joblib.dump(value, tmp))
        else:
            module = _pickle_module()

            def write(tmp):
                with open(tmp, "wb") as f:
                    module.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)

            atomic_write(path, write)
            meta["pickler"] = module.__name__
    except Exception as err:
        raise StepDataError(
            "Step {}: cannot save {!r} (a {}) for the steps below: {}: {}. {}".format(
                step, name, meta["type"], type(err).__name__, err, UNSERIALISABLE_HINT
            )
        ) from err
    write_json(os.path.join(folder, name + ".json"), meta)
    return meta


def load_value(folder, name, step="?"):
    meta_path = os.path.join(folder, name + ".json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except OSError as err:
        raise StepDataError(
            "Step {}: input {!r} was not saved by its provider ({}). Run the upstream step again.".format(step, name, err)
        ) from err
    fmt = meta["format"]
    path = os.path.join(folder, name + EXTENSIONS.get(fmt, ""))
    try:
        if fmt == "module":
            return importlib.import_module(meta["module"])
        if fmt == "arrow":
            from pyarrow import feather

            return feather.read_table(path, memory_map=True).to_pandas()
        if fmt == "parquet":
            import pandas

            return pandas.read_parquet(path, engine="pyarrow")
        if fmt == "npy":
            import numpy

            # copy-on-write memory map: no read into memory up front, and the step may still change it
            return numpy.load(path, mmap_mode="c", allow_pickle=False)
        if fmt == "torch":
            import torch

            return torch.load(path, weights_only=False)
        if fmt == "keras":
            import keras

            return keras.models.load_model(path)
        if fmt == "joblib":
            import joblib

            return joblib.load(path)
        module = importlib.import_module(meta.get("pickler", "pickle"))
        with open(path, "rb") as f:
            return module.load(f)
    except Exception as err:
        raise StepDataError(
            "Step {}: cannot load input {!r} (a {} saved as {}): {}: {}".format(
                step, name, meta.get("type"), fmt, type(err).__name__, err
            )
        ) from err


# --- running cells ---------------------------------------------------------


def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    try:
        import numpy

        if isinstance(value, numpy.generic):
            return value.item()
    except ImportError:
        pass
    return repr(value)


class _Tee(io.TextIOBase):
    """Writes to the real stream (the step's log) and records stream outputs for the cell."""

    def __init__(self, name, real, outputs):
        self.name, self.real, self.outputs = name, real, outputs

    def writable(self):
        return True

    def write(self, text):
        if not text:
            return 0
        self.real.write(text)
        if self.outputs and self.outputs[-1].get("output_type") == "stream" and self.outputs[-1]["name"] == self.name:
            self.outputs[-1]["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": self.name, "text": text})
        return len(text)

    def flush(self):
        self.real.flush()


class CellRunner:
    """Runs cell sources in one namespace, through IPython when it is there."""

    def __init__(self):
        self.outputs = []
        try:
            from IPython.core.interactiveshell import InteractiveShell
        except ImportError:
            self.shell = None
            self.namespace = {"__name__": "__main__"}
            return
        # Plots behave as in Jupyter: pyplot draws inline, and a cell's figures become its image outputs.
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        self.inline_figures = False
        self.shell = InteractiveShell.instance()
        self.namespace = self.shell.user_ns
        runner = self

        def publish(data, metadata=None, *args, **kwargs):
            runner.outputs.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})

        self.shell.display_pub.publish = publish

        def write_format_data(format_dict, md_dict=None):
            runner.outputs.append(
                {
                    "output_type": "execute_result",
                    "data": format_dict,
                    "metadata": md_dict or {},
                    "execution_count": runner.shell.execution_count,
                }
            )

        self.shell.displayhook.write_format_data = write_format_data

        def show_traceback(etype, evalue, stb):
            # As in Jupyter, a cell's exception is an error output (name, value, traceback); the
            # step's log gets the traceback as text.
            runner.outputs.append(
                {"output_type": "error", "ename": etype.__name__, "evalue": str(evalue), "traceback": stb}
            )
            sys.__stderr__.write("\n".join(stb) + "\n")

        self.shell._showtraceback = show_traceback
        # No "Out[n]:" prompt or separator lines: the result is an output of its own.
        self.shell.displayhook.write_output_prompt = lambda: None
        self.shell.displayhook.finish_displayhook = lambda: None

    def run(self, source):
        """Runs one cell; returns (outputs, error) where error is None or (exception, filename)."""
        self.outputs = []
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee("stdout", stdout, self.outputs), _Tee("stderr", stderr, self.outputs)
        error = None
        try:
            if self.shell is not None:
                result = self.shell.run_cell(source, store_history=True, silent=False)
                err = result.error_before_exec or result.error_in_exec
                if err is not None:
                    error = err
                self.show_figures()
            else:
                exec(compile(source, "<cell>", "exec"), self.namespace)
        except Exception as err:  # the plain-Python path
            error = err
        finally:
            sys.stdout.flush()
            sys.stdout, sys.stderr = stdout, stderr
        return self.outputs, error


    def show_figures(self):
        """Displays the figures a cell left open as images, then closes them, as Jupyter's inline backend does."""
        if "matplotlib.pyplot" not in sys.modules:
            return
        try:
            if not self.inline_figures:
                # Figures display as PNG images (a plain shell has no GUI loop for enable_matplotlib).
                from IPython.core.pylabtools import select_figure_formats

                select_figure_formats(self.shell, {"png"})
                self.inline_figures = True
            import matplotlib.pyplot as plt
            from IPython.display import display

            for number in plt.get_fignums():
                display(plt.figure(number))
            plt.close("all")
        except Exception as err:  # a plotting problem must not fail a step that computed its data
            sys.stderr.write("cellpipe: could not show the cell's figures: {}\n".format(err))


def _error_record(err, cell_index, cell_source):
    tb = traceback.extract_tb(err.__traceback__)
    # The innermost frame that is the cell's own code gives the line in the cell.
    line = None
    for frame in tb:
        if frame.filename.startswith("<ipython-input-") or frame.filename == "<cell>" or "ipykernel" in frame.filename:
            line = frame.lineno
    if isinstance(err, SyntaxError):
        line = err.lineno
    return {
        "cell": cell_index,
        "line": line,
        "ename": type(err).__name__,
        "evalue": str(err),
        "traceback": traceback.format_exception(type(err), err, err.__traceback__),
    }


def run_step(spec, run_dir, parameters=None, in_dirs=None, out_dirs=None):
    """Runs one step described by `spec`; returns the process exit status.

    Inputs are read from `RUN_DIR/data/PROVIDER/` and outputs saved to `RUN_DIR/data/STEP/`, unless
    `in_dirs` / `out_dirs` name another folder for a variable (a KFP artifact path, see cluster_main).
    """
    in_dirs, out_dirs = in_dirs or {}, out_dirs or {}
    step = spec["step"]
    step_dir = os.path.join(run_dir, "steps", step)
    data_dir = os.path.join(run_dir, "data")
    os.makedirs(step_dir, exist_ok=True)
    started = time.time()
    runner = CellRunner()
    ns = runner.namespace
    cell_outputs = {}

    def fail(record):
        record["step"] = step
        write_json(os.path.join(step_dir, "error.json"), record)
        write_json(os.path.join(step_dir, "outputs.json"), cell_outputs)
        sys.stderr.write("cellpipe: step {} failed: {}\n".format(step, record["message"]))
        return 1

    for index, source in spec["prelude"]:
        outputs, err = runner.run(source)
        if err is not None:
            rec = _error_record(err, index, source)
            rec["message"] = "cell {} (imports or functions) raised {}: {}".format(index + 1, rec["ename"], rec["evalue"])
            return fail(rec)

    params = dict(spec["parameters"])
    for name, typed in (parameters or {}).items():
        # overrides arrive as {"type", "value"}: JSON alone would turn 1.0 into 1
        params[name] = float(typed["value"]) if typed["type"] == "float" else typed["value"]
    ns.update(params)

    for name, provider in sorted(spec["ins"].items()):
        try:
            ns[name] = load_value(in_dirs.get(name) or os.path.join(data_dir, provider), name, step)
        except StepDataError as err:
            return fail({"cell": None, "line": None, "ename": "StepDataError", "evalue": str(err), "message": str(err), "traceback": []})

    for index, source in spec["cells"]:
        outputs, err = runner.run(source)
        cell_outputs[str(index)] = outputs
        if err is not None:
            rec = _error_record(err, index, source)
            where = "cell {}".format(index + 1) + (", line {}".format(rec["line"]) if rec["line"] else "")
            rec["message"] = "{} raised {}: {}".format(where, rec["ename"], rec["evalue"])
            return fail(rec)

    saved = {}
    for name in spec["outs"]:
        if name not in ns:
            return fail({"cell": None, "line": None, "ename": "NameError", "evalue": name, "traceback": [],
                         "message": "the step did not define {!r}, which a step below needs".format(name)})
        try:
            saved[name] = save_value(out_dirs.get(name) or os.path.join(data_dir, step), name, ns[name], step)
        except StepDataError as err:
            return fail({"cell": None, "line": None, "ename": "StepDataError", "evalue": str(err), "message": str(err), "traceback": []})

    metrics = {name: _jsonable(ns.get(name)) for name in spec["metrics"]}
    write_json(os.path.join(step_dir, "outputs.json"), cell_outputs)
    write_json(os.path.join(step_dir, "metrics.json"), metrics)
    write_json(os.path.join(step_dir, "saved.json"), saved)
    write_json(os.path.join(step_dir, "timing.json"), {"started": started, "finished": time.time()})
    return 0


# --- cluster containers (targets kfp and argo) ------------------------------

# Words of the container command and how many values follow each (src/core/targets/cluster-step.ts).
_CLUSTER_FLAGS = {
    "--run-dir": 1, "--param": 2, "--in": 2, "--out": 2, "--metrics": 1, "--html": 1, "--outputs": 1,
    "--full-outputs": 1, "--error": 1, "--executor-input": 1, "--workdir": 1,
}

# Argo keeps a step's output parameters in one pod annotation, and annotations hold 256 KiB in all.
OUTPUTS_LIMIT = 200 * 1024


def capped_outputs(cell_outputs, limit=OUTPUTS_LIMIT):
    """The step's outputs as JSON of at most `limit` bytes: images give way to a note first, then everything."""
    text = json.dumps(cell_outputs)
    if len(text.encode("utf-8")) <= limit:
        return text
    note = "[image not shown here: the step's outputs are larger than {} KiB]".format(limit // 1024)
    slim = {
        cell: [
            dict(out, data={"text/plain": note}) if any(k.startswith("image/") for k in out.get("data", {})) else out
            for out in outputs
        ]
        for cell, outputs in cell_outputs.items()
    }
    text = json.dumps(slim)
    if len(text.encode("utf-8")) <= limit:
        return text
    first = sorted(cell_outputs, key=int)[0] if cell_outputs else "0"
    message = "The step's outputs are larger than {} KiB; they are on the run volume.\n".format(limit // 1024)
    return json.dumps({first: [{"output_type": "stream", "name": "stdout", "text": message}]})

def outputs_html(step, cell_outputs):
    """A step's cell outputs as one self-contained HTML page (for the KFP UI, which shows system.HTML
    artifacts): text escaped, images inline, HTML as the cell produced it, errors with their traceback."""
    import base64 as _b64
    import html
    import re

    ansi = re.compile(r"\x1b\[[0-9;]*m")
    parts = ["<!DOCTYPE html><meta charset='utf-8'><title>{}</title>".format(html.escape(step)),
             "<style>body{font-family:sans-serif}pre{background:#f5f5f5;padding:6px;white-space:pre-wrap}"
             ".error{color:#b00}</style>", "<h2>Step {}</h2>".format(html.escape(step))]
    for cell in sorted(cell_outputs, key=int):
        outputs = cell_outputs[cell]
        if not outputs:
            continue
        parts.append("<h3>Cell {}</h3>".format(int(cell) + 1))
        for out in outputs:
            kind = out.get("output_type")
            if kind == "stream":
                parts.append("<pre>{}</pre>".format(html.escape(ansi.sub("", out.get("text", "")))))
            elif kind == "error":
                text = "\n".join(ansi.sub("", line) for line in out.get("traceback", []))
                parts.append("<pre class='error'>{}</pre>".format(html.escape(text)))
            else:
                data = out.get("data", {})
                if "text/html" in data:
                    value = data["text/html"]
                    parts.append("".join(value) if isinstance(value, list) else value)
                elif "image/png" in data:
                    parts.append("<img src='data:image/png;base64,{}'>".format(data["image/png"].strip()))
                elif "image/svg+xml" in data:
                    svg = data["image/svg+xml"]
                    parts.append("<img src='data:image/svg+xml;base64,{}'>".format(
                        _b64.b64encode(("".join(svg) if isinstance(svg, list) else svg).encode()).decode()))
                elif "text/plain" in data:
                    value = data["text/plain"]
                    parts.append("<pre>{}</pre>".format(html.escape("".join(value) if isinstance(value, list) else value)))
    return "\n".join(parts) + "\n"


def _parameter_from_text(text, ptype):
    """A parameter value as KFP's launcher or Argo hands it over (always text), read as its declared type."""
    if ptype == "int":
        return int(float(text)) if "." in text or "e" in text.lower() else int(text)
    if ptype == "float":
        return float(text)
    if ptype == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError("expected true or false, got {!r}".format(text))
        return lowered in ("true", "1")
    if ptype in ("list", "dict"):
        return json.loads(text)
    return text


def _finite(value):
    """Metric values for JSON and protobuf Struct: no NaN or infinity."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    return value


def cluster_main(spec, args):
    """`--cluster BINDING_BASE64 FLAGS...`: run the step in a KFP or Argo container.

    BINDING maps the keys used in flags (safe in placeholders) to the step's Python names and parameter
    types. `--in KEY DIR` / `--out KEY DIR` give a variable's folder (a KFP artifact path; on Argo the run
    volume's default layout is used instead). `--metrics PATH` receives the step's metrics as JSON;
    `--html PATH` the step's outputs as an HTML page; `--outputs PATH` as capped JSON (Argo output parameter);
    `--full-outputs PATH` as JSON, whole (an Argo output artifact); `--error PATH` a failed step's error
    (cell, line, exception and message, as error.json; `{}` when it succeeded);
    `--workdir DIR` is the cells' working directory (KFP has no container field for it);
    `--executor-input JSON` (KFP's `{{$}}`) says where the launcher reads the metrics artifact's metadata.
    """
    import base64

    binding = json.loads(base64.b64decode(args[0]).decode("utf-8"))
    values = {flag: [] for flag in _CLUSTER_FLAGS}
    i = 1
    while i < len(args):
        flag = args[i]
        if flag not in _CLUSTER_FLAGS:
            sys.stderr.write("cellpipe: unknown flag {!r} in the container command\n".format(flag))
            return 2
        count = _CLUSTER_FLAGS[flag]
        values[flag].append(args[i + 1 : i + 1 + count])
        i += 1 + count
    run_dir = values["--run-dir"][-1][0] if values["--run-dir"] else "/tmp/cellpipe/run"

    parameters = {}
    for key, text in values["--param"]:
        name, ptype = binding["params"][key]
        try:
            parameters[name] = {"type": ptype, "value": _parameter_from_text(text, ptype)}
        except ValueError as err:
            sys.stderr.write("cellpipe: pipeline parameter {} ({}): {}\n".format(name, ptype, err))
            return 2
    in_dirs = {binding["ins"][key]: folder for key, folder in values["--in"]}
    out_dirs = {binding["outs"][key]: folder for key, folder in values["--out"]}
    for folder in out_dirs.values():
        os.makedirs(folder, exist_ok=True)
    for (folder,) in values["--workdir"]:
        os.chdir(folder)

    status = run_step(spec, run_dir, parameters, in_dirs, out_dirs)
    # Written for a failed step too: its error and traceback are what the user needs to see.
    try:
        with open(os.path.join(run_dir, "steps", spec["step"], "outputs.json"), encoding="utf-8") as f:
            cell_outputs = json.load(f)
    except OSError:
        cell_outputs = {}
    def error_text():
        try:
            with open(os.path.join(run_dir, "steps", spec["step"], "error.json"), encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return "{}"
        # Small enough for an output parameter: the last lines of the traceback are the ones that matter.
        record["traceback"] = record.get("traceback", [])[-20:]
        return json.dumps(record)

    for flag, render in (("--html", lambda: outputs_html(spec["step"], cell_outputs)),
                         ("--outputs", lambda: capped_outputs(cell_outputs)),
                         ("--full-outputs", lambda: json.dumps(cell_outputs)),
                         ("--error", lambda: error_text() if status != 0 else "{}")):
        for (path,) in values[flag]:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(render())
    if status != 0:
        return status
    with open(os.path.join(run_dir, "steps", spec["step"], "metrics.json"), encoding="utf-8") as f:
        metrics = {name: _finite(value) for name, value in json.load(f).items()}
    for (path,) in values["--metrics"]:
        write_json(path, metrics)
    for (text,) in values["--executor-input"]:
        executor_input = json.loads(text)
        outputs = executor_input.get("outputs", {})
        artifacts = {}
        for key, entry in outputs.get("artifacts", {}).items():
            if entry.get("artifacts") and entry["artifacts"][0].get("type", {}).get("schemaTitle") == "system.Metrics":
                artifact = dict(entry["artifacts"][0])
                artifact["metadata"] = dict(artifact.get("metadata") or {}, **metrics)
                artifacts[key] = {"artifacts": [artifact]}
        if outputs.get("outputFile") and artifacts:
            # KFP's launcher merges this metadata into the artifact: the UI shows it as scalar metrics.
            write_json(outputs["outputFile"], {"artifacts": artifacts})
    return 0


def main(spec, argv):
    """Entry point of a step program: `python STEP.py RUN_DIR [PARAMS_JSON]`, or `--cluster ...` in a pod."""
    if len(argv) > 1 and argv[1] == "--cluster":
        return cluster_main(spec, argv[2:])
    if len(argv) < 2:
        sys.stderr.write("usage: python {} RUN_DIR [PARAMETERS.json]\n".format(os.path.basename(argv[0])))
        return 2
    parameters = {}
    if len(argv) > 2:
        with open(argv[2], encoding="utf-8") as f:
            parameters = json.load(f)
    return run_step(spec, argv[1], parameters)
