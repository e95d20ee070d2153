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
import linecache
import os
import pickle
import re
import sys
import tempfile
import time
import traceback
import types

FORMAT_VERSION = 1
COMPLETE_FILE = "complete.json"


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


# --- notebook code that travels between steps ----------------------------------
#
# A function defined in a cell reads its globals from the notebook's namespace when it is called. By
# value, cloudpickle would give it a copy of the globals it saw when it was saved; instead a step saves
# such a function without globals and the step that loads it rebuilds it on its own namespace, which holds
# what the analysis says the function reads (its inputs). Classes (and so their methods), closures,
# decorated functions and functions inside containers all go through the same reducer.

_RUNTIME_NAME = "_cellpipe_runtime"
# Registered under a fixed name, so that pickles refer to the rebuilding functions by reference whether
# the runtime runs as a step program's __main__ or is imported as cellpipe.runtime.
sys.modules.setdefault(_RUNTIME_NAME, sys.modules[__name__])
_NAMESPACE = {"current": None}


def _step_namespace():
    ns = _NAMESPACE["current"]
    return ns if ns is not None else sys.modules["__main__"].__dict__


def _make_function(code, name, cells):
    closure = tuple(types.CellType() for _ in range(cells)) or None
    return types.FunctionType(code, _step_namespace(), name, None, closure)


def _set_function_state(function, state):
    for index, value in state.pop("closure"):
        function.__closure__[index].cell_contents = value
    function.__dict__.update(state.pop("dict"))
    for attr, value in state.items():
        setattr(function, attr, value)


def cell_file(index, where):
    """The file name a cell's code is compiled under (its source registered in linecache under it): a
    traceback names the notebook cell (1-based, as a user counts) and the step, and shows the cell's lines,
    also in a step that calls a function a step above defined."""
    return "<cell {} ({})>".format(index + 1, where)


_CELL_FILE = re.compile(r"<cell (\d+ \(.*\))>\Z")


def _cache_cell_source(filename, source):
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # mtime None: linecache.checkcache never drops it (there is no file to compare with).
    linecache.cache[filename] = (len(source), None, lines, filename)


def _make_cell_code(code, filename, lines):
    """A code object of a notebook cell, with the cell's file name back and the cell's lines in linecache
    (cloudpickle saves every code object as "<dynamic-code>", so a traceback could not show the line)."""
    if lines and filename not in linecache.cache:
        linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    return code.replace(co_filename=filename)


def _make_cached(function, maxsize, typed):
    import functools

    return functools.lru_cache(maxsize=maxsize, typed=typed)(function)


for _f in (_make_function, _set_function_state, _make_cell_code, _make_cached):
    _f.__module__ = _RUNTIME_NAME


def _function_reduce(function):
    closure = []
    for index, cell in enumerate(function.__closure__ or ()):
        try:
            closure.append((index, cell.cell_contents))
        except ValueError:  # a cell not filled yet
            pass
    state = {
        "closure": closure,
        "dict": dict(function.__dict__),
        "__defaults__": function.__defaults__,
        "__kwdefaults__": function.__kwdefaults__,
        "__qualname__": function.__qualname__,
        "__module__": function.__module__,
        "__doc__": function.__doc__,
        "__annotations__": function.__annotations__,
    }
    cells = len(function.__closure__ or ())
    return _make_function, (function.__code__, function.__name__, cells), state, None, None, _set_function_state


_PICKLER = {}


def _pickler_class():
    """cloudpickle's Pickler, with notebook functions rebuilt on the loading step's namespace."""
    if "class" in _PICKLER:
        return _PICKLER["class"]
    try:
        import cloudpickle
    except ImportError:
        _PICKLER["class"] = pickle.Pickler
        return pickle.Pickler
    import functools

    class StepPickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            ns = _NAMESPACE["current"]
            if ns is not None:
                if type(obj) is types.FunctionType and obj.__globals__ is ns:
                    return _function_reduce(obj)
                wrapped = getattr(obj, "__wrapped__", None)
                if isinstance(obj, functools._lru_cache_wrapper) and getattr(wrapped, "__globals__", None) is ns:
                    parameters = obj.cache_parameters()
                    return _make_cached, (wrapped, parameters["maxsize"], parameters["typed"])
            if type(obj) is types.CodeType and _CELL_FILE.match(obj.co_filename):
                # Another file name for cloudpickle (which saves it as "<dynamic-code>"); the nested code
                # objects (inner functions, comprehensions) come through here in their turn.
                lines = linecache.getlines(obj.co_filename)
                return _make_cell_code, (obj.replace(co_filename="<dynamic-code>"), obj.co_filename, lines)
            return super().reducer_override(obj)

    _PICKLER["class"] = StepPickler
    return StepPickler


def _dump(value, file, **kwargs):
    _pickler_class()(file, protocol=kwargs.pop("protocol", pickle.HIGHEST_PROTOCOL), **kwargs).dump(value)


class _PickleModule:
    """What torch.save calls a pickle module: ours, so that notebook classes and functions travel by value."""

    Unpickler = pickle.Unpickler
    load = staticmethod(pickle.load)

    @property
    def Pickler(self):
        return _pickler_class()

    @staticmethod
    def dump(value, file, protocol=pickle.HIGHEST_PROTOCOL):
        _dump(value, file, protocol=protocol)


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
    # Everything else, scikit-learn estimators included, is pickled: joblib would refer to a notebook
    # function or class inside an estimator (a FunctionTransformer, a custom transformer) by name, and a
    # later step that has not defined it could not load it.
    return "pickle"


EXTENSIONS = {"arrow": ".arrow", "parquet": ".parquet", "npy": ".npy", "torch": ".pt", "keras": ".keras", "joblib": ".joblib", "pickle": ".pkl"}

UNSERIALISABLE_HINT = (
    "Values such as open files, generators, locks and connections cannot be passed between steps: "
    "create it again in the step that uses it, or pass the data it holds."
)


def _submodules(module):
    """The submodules imported below `module` and reachable from it (`import a.b` then `a.b.f()`)."""
    prefix = module.__name__ + "."
    found = []
    for name, sub in list(sys.modules.items()):
        if sub is None or not name.startswith(prefix):
            continue
        obj = module
        for part in name[len(prefix):].split("."):
            obj = getattr(obj, part, None)
        if obj is sub:
            found.append(name)
    return sorted(found)


def file_stem(name):
    """The file name of a variable: its name, or for a very long one (file names hold 255 bytes, with room
    kept for suffixes and temporary names) a prefix and a hash of the whole name."""
    if len(name.encode("utf-8")) <= 100:
        return name
    import hashlib

    return name[:60] + "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


# A saved value's content hash, the one its run's lineage records (both engines take it from the step's
# `hashes.json`): SHA-256 over its files (`NAME.json` and its data file) in name order, each as its name, a
# NUL, its bytes and a NUL. It is taken once the step is done (`hash_saved`), off the critical path of the
# steps below (which start as soon as the values are written), and kept beside the value (`NAME.sha256`), so
# that a step passing the value on unchanged links it with the value's files.
HASH_SUFFIX = ".sha256"
HASHES_FILE = "hashes.json"


def _write_npy(f, array):
    """numpy.save's file, with a C-ordered array's data written straight from its memory (numpy copies it
    chunk by chunk to a file object that is not a real file)."""
    import numpy

    fmt = numpy.lib.format
    header = io.BytesIO()
    try:
        fmt.write_array_header_1_0(header, fmt.header_data_from_array_1_0(array))
    except ValueError:  # a header too large for format 1.0: numpy picks the version
        header = None
    if header is None or not array.flags.c_contiguous:
        fmt.write_array(f, array, allow_pickle=False)
        return
    f.write(header.getvalue())
    if array.size:
        f.write(array.reshape(-1).view(numpy.uint8))


def _arrow_table(frame):
    """The frame as the Arrow table pyarrow.Table.from_pandas makes, its pandas metadata included, except that
    the numbers of a frame whose columns (and index) are all plain numpy numbers are taken as they are: a
    float's NaN stays a NaN (it loads back as the same NaN, and the loaded column is still a view of the
    file) instead of being scanned for and made an Arrow null, a pass over every float column (0.4 s of CPU
    per GiB here) on the provider's critical path to durable files."""
    import numpy
    import pyarrow

    levels = list(frame.index.dtypes) if frame.index.nlevels > 1 else [frame.index.dtype]
    if not all(isinstance(d, numpy.dtype) and d.kind in "fiub" for d in [*frame.dtypes, *levels]):
        # Schema.from_pandas would convert an object column only to learn its type, and then again.
        return pyarrow.Table.from_pandas(frame)
    schema = pyarrow.Schema.from_pandas(frame)  # for numpy numbers, from their dtypes alone
    index = [c for c in json.loads(schema.metadata[b"pandas"])["index_columns"] if isinstance(c, str)]
    values = [frame.iloc[:, i] for i in range(frame.shape[1])]
    values += [frame.index.get_level_values(i) for i in range(frame.index.nlevels)] if index else []
    arrays = [getattr(v, "array", None) for v in values]
    numbers = [getattr(a, "_ndarray", None) for a in arrays]
    if len(values) != len(schema) or not all(isinstance(n, numpy.ndarray) and n.dtype.kind in "fiub"
                                             and n.ndim == 1 for n in numbers):
        return pyarrow.Table.from_pandas(frame)
    return pyarrow.Table.from_arrays([pyarrow.array(n, type=field.type, from_pandas=False)
                                      for n, field in zip(numbers, schema)], schema=schema)


def save_value(folder, name, value, step="?"):
    """Save one variable as `folder/name.<ext>` plus `folder/name.json` describing it (written last: the value
    is saved once it is there); returns the description."""
    fmt = _choose_format(value)
    if isinstance(value, _PickleOnly):
        value = value.value
    meta = {"format": fmt, "type": _type_name(value), "version": FORMAT_VERSION}
    stem = file_stem(name)
    path = os.path.join(folder, stem + EXTENSIONS.get(fmt, ""))
    if fmt == "module":
        meta["module"] = value.__name__
        meta["submodules"] = _submodules(value)
    elif fmt == "pickle":
        meta["pickler"] = "cloudpickle" if _pickler_class() is not pickle.Pickler else "pickle"

    def write_data(write):
        def to_tmp(tmp):
            with open(tmp, "wb") as f:
                write(f)

        atomic_write(path, to_tmp)

    try:
        if fmt == "arrow":
            try:
                from pyarrow import feather

                # One record batch: each column is one buffer, which a step below maps without a copy.
                table = _arrow_table(value)
                write_data(lambda f: feather.write_feather(table, f, compression="uncompressed",
                                                           chunksize=max(1, table.num_rows)))
            except Exception:  # a frame Arrow cannot hold (mixed object columns, ...): pickle it
                return save_value(folder, name, _PickleOnly(value), step)
        elif fmt == "npy":
            write_data(lambda f: _write_npy(f, value))
        elif fmt == "torch":
            import torch

            write_data(lambda f: torch.save(value, f, pickle_module=_PickleModule()))
        elif fmt == "keras":
            # Keras writes only to a path ending in .keras: it is moved into place.
            def write_keras(tmp):
                with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-keras-") as keras_dir:
                    value.save(os.path.join(keras_dir, "model.keras"))
                    os.replace(os.path.join(keras_dir, "model.keras"), tmp)

            atomic_write(path, write_keras)
        elif fmt != "module":
            write_data(lambda f: _dump(value, f))
    except Exception as err:
        raise StepDataError(
            "Step {}: cannot save {!r} (a {}) for the steps below: {}: {}. {}".format(
                step, name, meta["type"], type(err).__name__, err, UNSERIALISABLE_HINT
            )
        ) from err
    _write_bytes(os.path.join(folder, stem + ".json"),
                 json.dumps(meta, indent=1, sort_keys=True, default=repr).encode("utf-8"))
    return meta


def hash_value(folder, name):
    """The content hash of a saved value (see HASH_SUFFIX), from `NAME.sha256` when the value has one (passed
    on with its provider's), else from its files, then kept there."""
    import hashlib

    stem = file_stem(name)
    kept = os.path.join(folder, stem + HASH_SUFFIX)
    try:
        with open(kept, encoding="ascii") as f:
            return f.read()
    except OSError:
        pass
    with open(os.path.join(folder, stem + ".json"), encoding="utf-8") as f:
        fmt = json.load(f)["format"]
    digest = hashlib.sha256()
    buffer = bytearray(4 << 20)
    for file in sorted({stem + ".json", stem + EXTENSIONS.get(fmt, ".json")}):
        digest.update(file.encode("utf-8") + b"\0")
        with open(os.path.join(folder, file), "rb", buffering=0) as f:
            view = memoryview(buffer)
            while True:
                n = f.readinto(view)
                if not n:
                    break
                digest.update(view[:n])  # hashlib releases the GIL for buffers this large
        digest.update(b"\0")
    value_hash = "sha256:" + digest.hexdigest()
    _write_bytes(kept, value_hash.encode("ascii"))
    return value_hash


def hash_saved(step_dir, places):
    """After a step is done: the content hashes of the values it saved (`places`: name -> folder) in its
    `hashes.json`, for its run's lineage. A value that cannot be read back leaves the lineage without it."""
    hashes = {}
    for name in sorted(places):
        try:
            hashes[name] = hash_value(places[name], name)
        except (OSError, ValueError, KeyError) as err:
            sys.stderr.write("cellpipe: could not hash {!r} for the run's lineage: {}\n".format(name, err))
    try:
        write_json(os.path.join(step_dir, HASHES_FILE), hashes)
    except OSError as err:
        sys.stderr.write("cellpipe: could not record the hashes for the run's lineage: {}\n".format(err))


def _write_bytes(path, data):
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def _read_meta(folder, name, step):
    try:
        with open(os.path.join(folder, file_stem(name) + ".json"), encoding="utf-8") as f:
            return json.load(f)
    except OSError as err:
        raise StepDataError(
            "Step {}: input {!r} was not saved by its provider ({}). Run the upstream step again.".format(step, name, err)
        ) from err


def pass_on(source, folder, name, step="?"):
    """Save an input the step did not change as it was loaded: its files are linked (or copied), not written
    again, with its provider's content hash when the provider has taken it already."""
    import shutil

    meta = _read_meta(source, name, step)
    stem = file_stem(name)
    files = [stem + EXTENSIONS.get(meta["format"], "")] if meta["format"] in EXTENSIONS else []
    if os.path.exists(os.path.join(source, stem + HASH_SUFFIX)):
        files.append(stem + HASH_SUFFIX)
    for file in files + [stem + ".json"]:  # the description last, as save_value writes it
        target = os.path.join(folder, file)

        def link(tmp, file=file):
            os.unlink(tmp)
            try:
                os.link(os.path.join(source, file), tmp)
            except OSError:  # another file system (a KFP artifact): copy
                shutil.copyfile(os.path.join(source, file), tmp)

        atomic_write(target, link)
    return dict(meta, unchanged=True)


def _load_frame(path):
    """A DataFrame saved as Arrow IPC, memory-mapped: its numeric columns are views of a private (copy-on-write)
    mapping of the file, read from disk when the step reads them and writable as a loaded frame is; the
    other columns are converted (Arrow's booleans, strings...)."""
    import mmap

    import numpy
    import pandas
    import pyarrow

    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    buffer = pyarrow.py_buffer(mapped)
    frame = pyarrow.ipc.open_file(buffer).read_all().to_pandas(split_blocks=True, self_destruct=True)
    if frame.columns.has_duplicates:
        return frame.copy()
    # Arrow's own arrays are read-only; the same bytes through the writable mapping are not.
    columns, start, end = {}, buffer.address, buffer.address + buffer.size
    for index, name in enumerate(frame.columns):
        column = frame.iloc[:, index]
        array = getattr(column.array, "_ndarray", None)
        if isinstance(column.dtype, numpy.dtype) and isinstance(array, numpy.ndarray) and array.dtype == column.dtype \
                and array.ndim == 1 and array.flags.c_contiguous and start <= array.ctypes.data < end:
            columns[name] = numpy.frombuffer(mapped, dtype=array.dtype, count=array.size,
                                             offset=array.ctypes.data - start)
        else:  # converted, or a read-only view of Arrow's (a category's codes): the step's own copy
            columns[name] = column.copy()
    loaded = pandas.DataFrame(columns, index=frame.index, copy=False)
    loaded.columns.name, loaded.attrs = frame.columns.name, frame.attrs
    return loaded


def load_value(folder, name, step="?"):
    meta = _read_meta(folder, name, step)
    fmt = meta["format"]
    path = os.path.join(folder, file_stem(name) + EXTENSIONS.get(fmt, ""))
    try:
        if fmt == "module":
            module = importlib.import_module(meta["module"])
            for sub in meta.get("submodules", []):
                try:
                    importlib.import_module(sub)
                except Exception:  # imported by the provider, but not importable here: leave it
                    pass
            return module
        if fmt == "arrow":
            return _load_frame(path)
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


def fingerprint(value):
    """A digest of the value's pickled form (large buffers hashed in place), or None when it cannot be pickled.

    Taken when an input is loaded and again before the step saves: an input a method call may have changed
    is saved again only when the digests differ."""
    import hashlib

    digest = hashlib.sha1()
    buffers = []

    class Sink:
        def write(self, data):
            digest.update(data)

    try:
        _dump(value, Sink(), protocol=5, buffer_callback=buffers.append)
        for buffer in buffers:
            try:
                digest.update(buffer.raw())
            except BufferError:  # not contiguous
                digest.update(bytes(buffer))
    except Exception:
        return None
    return digest.hexdigest()


# --- interpreter state that follows notebook order ----------------------------
#
# In the notebook, one process runs every cell: global random generators, display options, the working
# directory... set or advanced in one cell are what the next cell sees. A step starts from the state its
# upstream steps ended with (per key, the latest change in notebook order) and saves the state it ends
# with. Only libraries that are imported are read or set (a library imported later in the step gets its
# state when it is imported).

STATE_FILE = "@state.pkl"
# Keys whose value depends on every change before it (a draw continues from the previous state).
_SEQUENTIAL = ("random", "numpy.random", "torch", "torch.cuda", "tensorflow")


def _pandas_options(pd):
    import warnings

    registered = pd._config.config._registered_options
    values = {}
    with warnings.catch_warnings():  # reading a deprecated option warns
        warnings.simplefilter("ignore")
        for key, option in registered.items():
            try:
                value = pd.get_option(key)
            except Exception:
                continue
            if value != option.defval:
                values[key] = value
    return values


def _set_pandas_options(pd, values):
    import warnings

    registered = pd._config.config._registered_options
    current = _pandas_options(pd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key in set(values) | set(current):
            if key in registered:
                value = values[key] if key in values else registered[key].defval
                if current.get(key, registered[key].defval) != value:
                    pd.set_option(key, value)


_RC_SKIP = ("backend", "backend_fallback", "interactive")


def _rc_params(mpl):
    return {k: v for k, v in dict.items(mpl.rcParams) if k not in _RC_SKIP and dict.get(mpl.rcParamsDefault, k) != v}


def _set_rc_params(mpl, values):
    current = _rc_params(mpl)
    for key in set(values) | set(current):
        value = values[key] if key in values else dict.get(mpl.rcParamsDefault, key)
        if current.get(key, dict.get(mpl.rcParamsDefault, key)) != value:
            mpl.rcParams[key] = value


def _inline_backend():
    if "matplotlib_inline.config" not in sys.modules:
        return None
    from matplotlib_inline.config import InlineBackend

    return InlineBackend.instance() if InlineBackend.initialized() else None


def _state_handlers(shell, state):
    """key → (module that must be imported, read(), write(value))."""

    def module(name):
        return sys.modules[name]

    def torch_bytes(tensor):
        return bytes(tensor.cpu().numpy())

    def torch_tensor(data):
        return module("torch").frombuffer(bytearray(data), dtype=module("torch").uint8)

    handlers = {
        # First: importing what the steps above imported registers what libraries add on import (seaborn's
        # colormaps, which carried rcParams may name; pandas accessors), as in the notebook's kernel.
        "modules": ("sys", lambda: _imported_modules(shell, state), _import_modules),
        # The names the cells bound to modules (`import numpy as np`), bound again where the step has none of
        # its own: code whose names the analysis cannot see uses them (a formula, "y ~ np.log(x)"; a query).
        "module.names": ("sys", lambda: _module_names(shell, state), lambda v: _bind_module_names(shell, v)),
        "random": ("random", lambda: module("random").getstate(), lambda v: module("random").setstate(v)),
        "numpy.random": ("numpy", lambda: module("numpy").random.get_state(), lambda v: module("numpy").random.set_state(v)),
        "numpy.printoptions": ("numpy", lambda: module("numpy").get_printoptions(), lambda v: module("numpy").set_printoptions(**v)),
        "pandas.options": ("pandas", lambda: _pandas_options(module("pandas")), lambda v: _set_pandas_options(module("pandas"), v)),
        "matplotlib.rcParams": ("matplotlib", lambda: _rc_params(module("matplotlib")), lambda v: _set_rc_params(module("matplotlib"), v)),
        # Single-letter colours, which seaborn's set_color_codes redefines.
        "matplotlib.colors": ("matplotlib", lambda: {c: dict.get(module("matplotlib").colors._colors_full_map, c) for c in "bgrmyckw"},
                              lambda v: [module("matplotlib").colors._colors_full_map.__setitem__(c, rgb) for c, rgb in v.items()]),
        "torch": ("torch", lambda: torch_bytes(module("torch").random.get_rng_state()),
                  lambda v: module("torch").random.set_rng_state(torch_tensor(v))),
        "torch.cuda": ("torch", lambda: [torch_bytes(s) for s in module("torch").cuda.get_rng_state_all()]
                       if module("torch").cuda.is_initialized() else None,
                       lambda v: module("torch").cuda.set_rng_state_all([torch_tensor(s) for s in v])),
        "tensorflow": ("tensorflow", _tf_state, _set_tf_state),
        "numpy.errstate": ("numpy", lambda: module("numpy").geterr(), lambda v: module("numpy").seterr(**v)),
        "sklearn.config": ("sklearn", lambda: module("sklearn").get_config(), lambda v: module("sklearn").set_config(**v)),
        "warnings.filters": ("warnings", lambda: list(module("warnings").filters), _set_warning_filters),
        "logging": ("logging", _logging_state, _set_logging_state),
        # After "modules", which imports them again.
        "local.modules": ("sys", lambda: _local_module_state(state), _set_local_module_state),
        # After "modules" and "local.modules": a notebook class may refer to them.
        "notebook.definitions": ("sys", lambda: _notebook_definitions(shell), _set_notebook_definitions),
        "environ": ("os", state.environ_changes, state.set_environ),
        "cwd": ("os", lambda: os.path.relpath(os.getcwd(), state.cwd_start),
                lambda v: os.path.isdir(os.path.join(state.cwd_start, v)) and os.chdir(os.path.join(state.cwd_start, v))),
        "sys.path": ("sys", lambda: [(i, p) for i, p in enumerate(sys.path) if p not in state.path_start], _add_sys_path),
    }
    if shell is not None:
        plain = shell.display_formatter.formatters["text/plain"]
        handlers["ipython.precision"] = ("IPython", lambda: (plain.float_precision, plain.pprint),
                                         lambda v: (setattr(plain, "float_precision", v[0]), setattr(plain, "pprint", v[1])))
        # IPython, not matplotlib_inline: `%config InlineBackend...` before pyplot is imported is kept in the
        # shell's config, which the backend reads when it starts.
        handlers["ipython.inline"] = ("IPython", lambda: _inline_settings(shell), lambda v: _set_inline(shell, v))
    return handlers


# The classes and functions the steps above defined at the top level of a cell, by name.
_DEFINITIONS = {}


class _NotebookMain(types.ModuleType):
    """A step's __main__ (the cells' namespace), where `__main__.Point` also finds a class a step above
    defined, as in the notebook's kernel: pickle refers to a notebook class by that name (`pickle.dumps` in
    one step, `pickle.loads` in another), while the step's own names stay what the analysis passed in."""

    def __getattr__(self, name):
        try:
            return _DEFINITIONS[name]
        except KeyError:
            raise AttributeError("module '__main__' has no attribute {!r}".format(name)) from None


def _notebook_definitions(shell):
    """What `_DEFINITIONS` holds after this step: the steps above's and the cells' own, by value (bytes,
    so a step that defines nothing new changes nothing); one that cannot be pickled is left out."""
    found = {}
    for name, value in list(_DEFINITIONS.items()) + list(shell.user_ns.items() if shell is not None else ()):
        if getattr(value, "__module__", None) != "__main__" or getattr(value, "__qualname__", None) != name:
            continue
        buffer = io.BytesIO()
        try:
            _dump(value, buffer)
        except Exception:
            continue
        found[name] = buffer.getvalue()
    return found or None


def _set_notebook_definitions(found):
    for name, data in found.items():
        _DEFINITIONS[name] = pickle.loads(data)


def _imported_modules(shell, state):
    """The modules the cells imported (bound in the namespace), with those the steps above imported."""
    inherited = (state.entries.get("modules") or {}).get("value") or []
    namespace = shell.user_ns if shell is not None else {}
    bound = {v.__name__ for k, v in list(namespace.items()) if not k.startswith("_") and isinstance(v, types.ModuleType)}
    return sorted(set(inherited) | bound)


def _module_names(shell, state):
    if shell is None:
        return None
    names = dict((state.entries.get("module.names") or {}).get("value") or {})
    names.update({k: v.__name__ for k, v in list(shell.user_ns.items())
                  if not k.startswith("_") and isinstance(v, types.ModuleType)})
    return dict(sorted(names.items())) or None


def _bind_module_names(shell, names):
    for name, module in names.items():
        if shell is not None and name not in shell.user_ns:
            try:
                shell.user_ns[name] = importlib.import_module(module)
            except Exception:  # gone from this environment: "modules" said so already
                pass


def _import_modules(names):
    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception as err:  # gone from this environment: a cell that needs it says so
                sys.stderr.write("cellpipe: could not import {} as the steps above did: {}\n".format(name, err))


def _add_sys_path(added):
    for index, path in added:
        if path not in sys.path:
            sys.path.insert(min(index, len(sys.path)), path)


INLINE_SETTINGS = ("figure_format", "figure_formats", "print_figure_kwargs", "close_figures")


def _inline_settings(shell):
    cfg = _inline_backend()
    if cfg is None:
        # Not started yet: what `%config InlineBackend.x = ...` set for when it starts.
        pending = shell.config.get("InlineBackend") or {}
        found = {k: pending[k] for k in INLINE_SETTINGS if k in pending}
        if "figure_formats" in found:
            found["figure_formats"] = set(found["figure_formats"])
        return found or None
    return {"figure_formats": set(cfg.figure_formats), "print_figure_kwargs": dict(cfg.print_figure_kwargs),
            "close_figures": cfg.close_figures}


def _set_inline(shell, value):
    if not value:
        return
    cfg = _inline_backend()
    for attr, v in value.items():
        if cfg is None:
            setattr(shell.config.InlineBackend, attr, v)
        elif getattr(cfg, attr) != v:
            setattr(cfg, attr, v)


def _set_warning_filters(value):
    import warnings

    warnings.filters[:] = value
    warnings._filters_mutated()


_LOG_STYLES = {"PercentStyle": "%", "StrFormatStyle": "{", "StringTemplateStyle": "$"}


def _handler_spec(handler):
    """A root handler as data: a stream handler to stdout or stderr, or a file handler; None for others."""
    import logging

    formatter = handler.formatter
    form = None if formatter is None else (formatter._fmt, formatter.datefmt, _LOG_STYLES.get(type(formatter._style).__name__, "%"))
    if type(handler) is logging.FileHandler:
        return ("file", handler.baseFilename, handler.encoding, handler.level, form)
    stream = getattr(handler.stream, "name", None) if type(handler) is logging.StreamHandler else None
    if stream in ("stdout", "<stdout>", "stderr", "<stderr>"):  # a cell's stream, the kernel's or the real one
        return (stream.strip("<>"), None, None, handler.level, form)
    return None


class _CurrentStream:
    """sys.stdout or sys.stderr as it is at each write: for a handler carried over from the steps above,
    made before the cells run, which logs into the cell running then."""

    def __init__(self, name):
        self.name = name

    def write(self, text):
        return getattr(sys, self.name).write(text)

    def flush(self):
        getattr(sys, self.name).flush()


def _logging_state():
    """What `logging.basicConfig` sets (the root logger's level and handlers) and the levels set on named
    loggers: a cell that configures logging makes the later cells log, in the notebook's one kernel."""
    import logging

    handlers = [_handler_spec(h) for h in logging.root.handlers]
    levels = {name: logger.level for name, logger in list(logging.Logger.manager.loggerDict.items())
              if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET}
    return {"level": logging.root.level, "handlers": [h for h in handlers if h], "levels": levels,
            "disable": logging.root.manager.disable}


def _set_logging_state(value):
    import logging

    logging.root.setLevel(value["level"])
    logging.disable(value["disable"])
    for name, level in value["levels"].items():
        logging.getLogger(name).setLevel(level)
    if logging.root.handlers:
        return  # configured already (by the prelude): as basicConfig, adding more would log twice
    for kind, filename, encoding, level, form in value["handlers"]:
        if kind == "file":
            handler = logging.FileHandler(filename, "a", encoding=encoding)  # appending to what was logged above
        else:
            handler = logging.StreamHandler(_CurrentStream(kind))
        handler.setLevel(level)
        if form is not None:
            handler.setFormatter(logging.Formatter(form[0], form[1], form[2]))
        logging.root.addHandler(handler)


def _is_local_module(module, folder):
    """A module of the notebook's own (a .py file in its folder or below, not an installed package)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return False
    path = os.path.abspath(path)
    # The step runs in the run's copy of the folder (its workspace); its own program is not the notebook's.
    return path.startswith(folder + os.sep) and module.__name__ not in ("__main__", "_cellpipe_runtime") and not any(
        part in ("site-packages", "dist-packages") for part in path.split(os.sep))


def _local_module_state(state):
    """The module-level values (not functions, classes or modules) of the notebook's own modules, which
    their functions or the cells may change (`mymod.counter = 10`): pickled per value, by module."""
    found = {}
    for name, module in list(sys.modules.items()):
        if not _is_local_module(module, state.cwd_start):
            continue
        values = {}
        for attr, value in list(vars(module).items()):
            if attr.startswith("__") or isinstance(value, (types.ModuleType, types.FunctionType, type,
                                                           types.BuiltinFunctionType)):
                continue
            try:
                values[attr] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a value that cannot travel stays as the module makes it
                continue
        found[name] = values
    return found or None


def _set_local_module_state(value):
    for name, values in value.items():
        try:
            module = importlib.import_module(name)
        except Exception as err:  # gone from the folder: a cell that needs it says so
            sys.stderr.write("cellpipe: could not import {} as the steps above did: {}\n".format(name, err))
            continue
        for attr, data in values.items():
            setattr(module, attr, pickle.loads(data))


def _tf_state():
    from tensorflow.python.eager import context  # the global seed and the generator of op seeds

    ctx = context.context()
    rng = getattr(ctx, "_rng", None)
    return (getattr(ctx, "_seed", None), rng.getstate() if rng is not None else None)


def _set_tf_state(value):
    from tensorflow.python.eager import context

    ctx = context.context()
    seed, rng = value
    if seed is not None:
        ctx._set_global_seed(seed)
        if rng is not None and getattr(ctx, "_rng", None) is not None:
            ctx._rng.setstate(rng)


class InterpreterState:
    """The state of one step: merged from its upstream steps at the start, written at the end."""

    def __init__(self, shell, position, log, start=None):
        """`start`: (working directory, sys.path, environment) as they were before the prelude ran; default now."""
        self.position, self.log = position, log
        cwd, path, env = start or (os.getcwd(), sys.path, os.environ)
        self.cwd_start, self.path_start, self.env_start = cwd, list(path), dict(env)
        self.carried_env = {}
        self.handlers = _state_handlers(shell, self)
        self.entries = {}  # key -> {"value", "at": position of its last change, "seen": positions of changes}
        self.start = {}
        self.finder = None

    def environ_changes(self):
        changes = dict(self.carried_env)
        for key in set(self.env_start) | set(os.environ):
            if os.environ.get(key) != self.env_start.get(key):
                changes[key] = os.environ.get(key)
        return changes

    def set_environ(self, changes):
        self.carried_env = dict(changes)
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def merge(self, folders):
        """Per key, the entry whose change comes last in notebook order."""
        for folder in folders:
            try:
                with open(os.path.join(folder, STATE_FILE), "rb") as f:
                    entries = pickle.load(f)
            except Exception:  # an upstream step that saved no state (or an unreadable one)
                continue
            for key, entry in entries.items():
                mine = self.entries.get(key)
                if mine is None:
                    self.entries[key] = entry
                    continue
                if entry["at"] == mine["at"]:
                    continue  # the same change, reached through two paths
                later, earlier = (entry, mine) if entry["at"] > mine["at"] else (mine, entry)
                self.entries[key] = later
                if key in _SEQUENTIAL and earlier["at"] not in later["seen"]:
                    self.log("cellpipe: two upstream steps advanced the global random generator {!r} in parallel; "
                             "this step continues from the later one, which did not see the other's draws, so its "
                             "numbers differ from the notebook's.\n".format(key))

    def restore(self):
        """Sets the merged state of what is imported now, and of the rest when it is first imported."""
        later = {}
        for key, (module, _, _) in self.handlers.items():
            if module in sys.modules:
                if key in self.entries:
                    self._apply(key)
                self.start[key] = self._read(key)
            else:
                later.setdefault(module, []).append(key)
        if later:
            self.finder = _OnImport(later, self)
            sys.meta_path.insert(0, self.finder)

    def imported(self, keys):
        for key in keys:
            if key in self.entries:
                self._apply(key)
            self.start[key] = self._read(key)

    def _apply(self, key):
        try:
            self.handlers[key][2](self.entries[key]["value"])
        except Exception as err:  # a state that cannot be set must not fail a step that may not need it
            self.log("cellpipe: could not carry {} over from the steps above: {}\n".format(key, err))

    def _read(self, key):
        module, read, _ = self.handlers[key]
        if module not in sys.modules:
            return None
        try:
            return read()
        except Exception:
            return None

    def save(self, folder):
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        entries = dict(self.entries)
        for key in self.handlers:
            value = self._read(key)
            if value is None or _same(value, self.start.get(key)):
                continue  # not changed by this step: what it carried over stays
            previous = entries.get(key)
            if key == "warnings.filters":  # a category defined in a cell cannot travel
                value = [f for f in value if _picklable(f)]
            if not _picklable(value):
                continue
            entries[key] = {"value": value, "at": self.position, "seen": (previous["seen"] if previous else []) + [self.position]}

        def write(tmp):
            with open(tmp, "wb") as f:
                pickle.dump(entries, f, protocol=pickle.HIGHEST_PROTOCOL)

        atomic_write(os.path.join(folder, STATE_FILE), write)


def _picklable(value):
    try:
        pickle.dumps(value)
        return True
    except Exception:
        return False


def _same(a, b):
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:
        return False


class _OnImport:
    """A meta path finder that hands a library to the state right after its first import."""

    def __init__(self, later, state):
        self.later, self.state = later, state

    def find_spec(self, name, path=None, target=None):
        if name not in self.later:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return None
        loader, keys, state = spec.loader, self.later.pop(name), self.state
        if loader is None or not hasattr(loader, "exec_module"):
            return spec

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                state.imported(keys)

            def __getattr__(self, attr):
                return getattr(loader, attr)

        spec.loader = Loader()
        return spec


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

    @property
    def encoding(self):
        return "utf-8"  # as a kernel's streams: what a library prints for it (IPython's "μs", "±") is not ASCII'd

    def write(self, text):
        if not text:
            return 0
        self.real.write(text)
        self.outputs.add({"output_type": "stream", "name": self.name, "text": text})
        return len(text)

    def flush(self):
        self.real.flush()


def _complete(reply):
    """The result of do_execute, run to its end without an event loop (it does not await on this path)."""
    if not hasattr(reply, "__await__"):
        return reply
    try:
        reply.send(None)
    except StopIteration as done:
        return done.value
    reply.close()
    raise RuntimeError("the kernel waited on an event loop while running a cell")


class CellOutputs:
    """A cell's outputs as a Jupyter client keeps them: streams merged, clear_output and display updates applied."""

    def __init__(self):
        self.items = []
        self.clear_on_next = False

    def add(self, output):
        if self.clear_on_next:
            self.items, self.clear_on_next = [], False
        last = self.items[-1] if self.items else None
        if output["output_type"] == "stream" and last and last["output_type"] == "stream" and last["name"] == output["name"]:
            last["text"] += output["text"]
        else:
            self.items.append(output)

    def clear(self, wait):
        if wait:
            self.clear_on_next = True
        else:
            self.items = []

    def update(self, display_id, data, metadata):
        for out in self.items:
            if out.get("transient", {}).get("display_id") == display_id:
                out["data"], out["metadata"] = data, metadata


def _kernel_session(runner):
    """jupyter_client's Session with `send` turned into recording the message as a cell output."""
    from jupyter_client.session import Session

    class Outputs(Session):
        def send(self, stream, msg_or_type, content=None, parent=None, ident=None, buffers=None, track=False,
                 header=None, metadata=None):
            if isinstance(msg_or_type, dict):
                kind, content = msg_or_type["header"]["msg_type"], msg_or_type["content"]
            else:
                kind = msg_or_type
            runner.message(kind, content)

    return Outputs(key=b"")


class CellRunner:
    """Runs cell sources in one namespace as a Jupyter kernel would.

    With ipykernel, the cells run through ipykernel's own kernel object (its ZMQInteractiveShell, display
    publisher, display hook, input handling and inline matplotlib), whose messages become the cells' outputs:
    pandas, matplotlib and IPython's formatters see a Jupyter kernel. Without ipykernel, through IPython's
    InteractiveShell; without IPython, as plain Python."""

    def __init__(self):
        self.outputs = CellOutputs()
        self.tees = (_Tee("stdout", sys.stdout, self.outputs), _Tee("stderr", sys.stderr, self.outputs))
        self.kernel = self.shell = None
        self.cell_name = None
        # The working directory (the notebook's folder) first on the path, as IPython's kernel app puts it:
        # a cell imports a module of the notebook's folder.
        if "" not in sys.path:
            sys.path.insert(0, "")
        try:
            self._start_kernel()
        except ImportError:
            try:
                self._start_shell()
            except ImportError:
                # Plots go to files, never to a window.
                os.environ.setdefault("MPLBACKEND", "Agg")
                self.namespace = {"__name__": "__main__"}
                return
        # get_ipython() is a builtin while cells run; libraries imported outside a cell (by loading an
        # input) look for it too (pandas decides at import whether it draws for a terminal).
        self.shell.builtin_trap.__enter__()
        self._name_cells()
        if type(self.shell.user_module) is types.ModuleType:
            self.shell.user_module.__class__ = _NotebookMain

    def _name_cells(self):
        """Cells compile under `cell_file` names, which tracebacks show as "Cell 2 (step train), line 3"
        where Jupyter shows "Cell In[5], line 3"."""
        compiler, runner = self.shell.compile, self
        default_name, default_format = compiler.get_code_name, compiler.format_code_name

        def get_code_name(raw_code, transformed_code, number):
            # Once per cell: a cell magic's own run_cell (%%capture) compiles the body, not the cell.
            name, runner.cell_name = runner.cell_name, None
            return name or default_name(raw_code, transformed_code, number)

        def format_code_name(name):
            match = _CELL_FILE.match(name)
            return ("Cell", match.group(1)) if match else default_format(name)

        compiler.get_code_name, compiler.format_code_name = get_code_name, format_code_name

    def _start_kernel(self):
        import asyncio
        import logging

        from ipykernel.ipkernel import IPythonKernel

        # As ipykernel's kernel app does: plots draw inline unless the environment chose a backend.
        if not os.environ.get("MPLBACKEND"):
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        # A step has no debugger client, and loading debugpy for the kernel's debugger was half of the kernel's
        # start: it is hidden while the kernel is made (ipykernel then leaves the debugger out), so a cell
        # may still import it.
        hidden = "debugpy" not in sys.modules
        if hidden:
            sys.modules["debugpy"] = None
        try:
            # user_ns=None as ipykernel's kernel app passes it: the shell makes its own __main__ module.
            self.kernel = IPythonKernel(session=_kernel_session(self), iopub_socket=None, user_ns=None,
                                        log=logging.getLogger("cellpipe"))
        finally:
            if hidden and sys.modules.get("debugpy", False) is None:
                del sys.modules["debugpy"]
        self.shell = self.kernel.shell
        # The kernel app is where ipykernel looks for the kernel (`%matplotlib inline` asks it for the event
        # loop); it is not initialised: no sockets, no connection file.
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.instance().kernel = self.kernel
        self.namespace = self.shell.user_ns
        self.shell.events.register("post_run_cell", lambda result: setattr(self, "last_result", result))
        # The kernel's do_execute is a coroutine; with no loop running it runs the cell synchronously, in this
        # thread's context, so context variables a cell sets (NumPy's print options) stay for the next cells.
        asyncio.set_event_loop(asyncio.new_event_loop())

    def message(self, kind, content):
        if kind == "stream":
            self.outputs.add({"output_type": "stream", "name": content["name"], "text": content["text"]})
        elif kind in ("display_data", "execute_result"):
            out = {"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {})}
            if kind == "execute_result":
                out["execution_count"] = content.get("execution_count")
            display_id = content.get("transient", {}).get("display_id")
            if display_id:
                out["transient"] = {"display_id": display_id}
            self.outputs.add(out)
        elif kind == "update_display_data":
            self.outputs.update(content.get("transient", {}).get("display_id"), content["data"], content.get("metadata", {}))
        elif kind == "clear_output":
            self.outputs.clear(content.get("wait", False))
        elif kind == "error":
            self.outputs.add({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                              "traceback": content["traceback"]})
            sys.__stderr__.write("\n".join(content["traceback"]) + "\n")

    def _start_shell(self):
        from IPython.core.interactiveshell import InteractiveShell

        # Plots behave as in Jupyter: pyplot draws inline, and a cell's figures become its image outputs.
        if not os.environ.get("MPLBACKEND"):
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        self.inline_figures = False
        self.shell = InteractiveShell.instance()
        self.namespace = self.shell.user_ns
        runner = self

        def publish(data, metadata=None, *args, **kwargs):
            runner.message("display_data", {"data": data, "metadata": metadata or {}, "transient": kwargs.get("transient") or {}})

        self.shell.display_pub.publish = publish

        def write_format_data(format_dict, md_dict=None):
            runner.message("execute_result", {"data": format_dict, "metadata": md_dict or {},
                                              "execution_count": runner.shell.execution_count})

        self.shell.displayhook.write_format_data = write_format_data
        self.shell._showtraceback = lambda etype, evalue, stb: runner.message(
            "error", {"ename": etype.__name__, "evalue": str(evalue), "traceback": stb})
        # No "Out[n]:" prompt or separator lines: the result is an output of its own.
        self.shell.displayhook.write_output_prompt = lambda: None
        self.shell.displayhook.finish_displayhook = lambda: None

    def run(self, source, filename="<cell>"):
        """Runs one cell, its code named `filename` (`cell_file`); returns (outputs, error) where error is
        None or the exception."""
        self.outputs = CellOutputs()
        self.cell_name = filename
        stdout, stderr = sys.stdout, sys.stderr
        # One stream of each for every cell, as a kernel's: what keeps the stream a cell found (a logging
        # handler, a library's printer) writes into the cell running now, not into the one that made it.
        for tee, real in zip(self.tees, (stdout, stderr)):
            tee.real, tee.outputs = real, self.outputs
        sys.stdout, sys.stderr = self.tees
        error = None
        try:
            if self.kernel is not None:
                self.last_result = None
                reply = _complete(self.kernel.do_execute(source, False, store_history=True, allow_stdin=False))
                result = self.last_result
                if reply["status"] != "ok" and result is not None:
                    error = result.error_before_exec or result.error_in_exec
            elif self.shell is not None:
                result = self.shell.run_cell(source, store_history=True, silent=False)
                error = result.error_before_exec or result.error_in_exec
                self.show_figures()
            else:
                _cache_cell_source(filename, source)
                exec(compile(source, filename, "exec"), self.namespace)
        except Exception as err:  # the plain-Python path
            error = err
        finally:
            sys.stdout.flush()
            sys.stdout, sys.stderr = stdout, stderr
        return self.outputs.items, error

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



def _error_record(err, cell_index, filename):
    tb = traceback.extract_tb(err.__traceback__)
    # The innermost frame that is the cell's own code gives the line in the cell.
    line = None
    for frame in tb:
        if frame.filename == filename:
            line = frame.lineno
    if isinstance(err, SyntaxError):
        line = err.lineno
    # From the cell's own frame on, as Jupyter shows it (not IPython's frames that ran the cell).
    first = err.__traceback__
    while first is not None and not _CELL_FILE.match(first.tb_frame.f_code.co_filename):
        first = first.tb_next
    return {
        "cell": cell_index,
        "line": line,
        "ename": type(err).__name__,
        "evalue": str(err),
        "traceback": traceback.format_exception(type(err), err, first or err.__traceback__),
    }


def _data_error(message, ename="StepDataError"):
    return {"cell": None, "line": None, "ename": ename, "evalue": message, "message": message, "traceback": []}


def run_prelude(runner, prelude):
    """Runs the imports and functions cells; returns the error record of the first that fails, else None."""
    for index, source in prelude:
        filename = cell_file(index, "imports or functions")
        outputs, err = runner.run(source, filename)
        if err is not None:
            rec = _error_record(err, index, filename)
            rec["message"] = "cell {} (imports or functions) raised {}: {}".format(index + 1, rec["ename"], rec["evalue"])
            return rec
    return None


# The names under which the interpreter state travels in --in/--out (never a Python name).
STATE_OUT = "@state"
STATE_IN = "@state:"


def receive(spec, ns, data_dir, parameters=None, in_dirs=None, state=None, handed=None):
    """Puts into `ns` what a step receives after its prelude and before its cells: the parameters (with the
    run's overrides), its inputs, loaded from their providers' folders, and (with `state`) the interpreter
    state of the steps above. Returns each input's folder; raises StepDataError for an input that cannot
    be loaded. A step's run and `load_step_inputs` (a step's inputs in a notebook's kernel) both call it.
    `handed`: (provider, values) for a step forked from its provider's process (`Handoff`): those of its
    inputs are the values in memory, not loaded."""
    in_dirs = in_dirs or {}
    provider_values = handed[1] if handed else {}
    params = dict(spec["parameters"])
    for name, typed in (parameters or {}).items():
        # overrides arrive as {"type", "value"}: JSON alone would turn 1.0 into 1
        params[name] = float(typed["value"]) if typed["type"] == "float" else typed["value"]
    ns.update(params)
    sources = {}
    for name, provider in sorted(spec["ins"].items()):
        sources[name] = in_dirs.get(name) or os.path.join(data_dir, provider)
        if handed and provider == handed[0] and name in provider_values:
            ns[name] = provider_values[name]
        else:
            ns[name] = load_value(sources[name], name, spec["step"])
    if state is not None:
        folders = [in_dirs.get(STATE_IN + dep) or os.path.join(data_dir, dep) for dep in spec["state"]["from"]]
        state.merge(folders)
        state.restore()
    return sources


def run_step(spec, run_dir, parameters=None, in_dirs=None, out_dirs=None, warm=None):
    """Runs one step described by `spec`; returns the process exit status.

    Inputs are read from `RUN_DIR/data/PROVIDER/` and outputs saved to `RUN_DIR/data/STEP/`, unless
    `in_dirs` / `out_dirs` name another folder for a variable (a KFP artifact path, see cluster_main).
    In order: the prelude (imports and functions cells), the parameters, the inputs, the interpreter state
    of the upstream steps, the step's cells; then the outputs, the state and the records. With `warm` (a
    forked child of a WarmPython), the prelude has already run in the process the child was forked from.
    """
    in_dirs, out_dirs = in_dirs or {}, out_dirs or {}
    step = spec["step"]
    step_dir = os.path.join(run_dir, "steps", step)
    data_dir = os.path.join(run_dir, "data")
    os.makedirs(step_dir, exist_ok=True)
    started = time.time()
    runner = warm.runner if warm is not None else CellRunner()
    ns = runner.namespace
    _NAMESPACE["current"] = ns
    state_spec = spec.get("state")
    start = warm.start if warm is not None else None
    state = InterpreterState(runner.shell, state_spec["at"], sys.stderr.write, start) if state_spec else None
    cell_outputs = {}

    def fail(record):
        record["step"] = step
        sys.stderr.write("cellpipe: step {} failed: {}\n".format(step, record["message"]))
        try:
            write_json(os.path.join(step_dir, "error.json"), record)
            write_json(os.path.join(step_dir, "outputs.json"), cell_outputs)
        except OSError as err:  # a full disk or a folder that cannot be written: the log still says why
            sys.stderr.write("cellpipe: could not record the failure of step {}: {}\n".format(step, err))
        return 1

    err = None if warm is not None else run_prelude(runner, spec["prelude"])
    if err is not None:
        return fail(err)

    handed = warm.handed if warm is not None else None
    try:
        sources = receive(spec, ns, data_dir, parameters, in_dirs, state, handed)
    except StepDataError as err:
        return fail(_data_error(str(err)))
    if warm is not None:
        warm.handoff.mark()  # what the step's cells leave beyond this, a fork of it would not have
    # Inputs a method call of the step may change: saved again below only if they did change.
    loaded = {name: fingerprint(ns[name]) for name in spec.get("fingerprint", []) if name in ns}

    for index, source in spec["cells"]:
        filename = cell_file(index, "step " + step)
        outputs, err = runner.run(source, filename)
        cell_outputs[str(index)] = outputs
        if err is not None:
            rec = _error_record(err, index, filename)
            where = "cell {}".format(index + 1) + (", line {}".format(rec["line"]) if rec["line"] else "")
            rec["message"] = "{} raised {}: {}".format(where, rec["ename"], rec["evalue"])
            return fail(rec)

    changed = {name: loaded[name] is None or fingerprint(ns.get(name)) != loaded[name] for name in loaded}
    for guard in spec.get("guards", []):
        if changed.get(guard["name"]):
            return fail(_data_error(guard["message"], "ChangedInput"))

    for name in spec["outs"]:
        if name not in ns:
            return fail(_data_error("the step did not define {!r}, which a step below needs".format(name), "NameError"))
    ran = time.time()
    # Outputs the steps below may take from this process's memory (forked from it) are saved after the fork,
    # off their critical path; the others, and the state, before it.
    later = warm.handoff.values(spec, ns) if warm is not None else {}
    saved, places = {}, {}

    def save(names):
        for name in names:
            folder = places[name] = out_dirs.get(name) or os.path.join(data_dir, step)
            if name in changed and not changed[name]:
                if handed and spec["ins"].get(name) == handed[0]:
                    _await_saved(sources[name], name, handed[2])  # its provider may still be writing it
                saved[name] = pass_on(sources[name], folder, name, step)
            else:
                saved[name] = save_value(folder, name, ns[name], step)

    try:
        save([name for name in spec["outs"] if name not in later])
        if state is not None and state_spec.get("save", True):
            state.save(out_dirs.get(STATE_OUT) or os.path.join(data_dir, step))
        if warm is not None:
            warm.handoff.offer(warm, step, later)
        save(later)
    except StepDataError as err:
        return fail(_data_error(str(err)))

    metrics = {name: _jsonable(ns.get(name)) for name in spec["metrics"]}
    write_json(os.path.join(step_dir, "outputs.json"), cell_outputs)
    write_json(os.path.join(step_dir, "metrics.json"), metrics)
    write_json(os.path.join(step_dir, "saved.json"), saved)
    write_json(os.path.join(step_dir, "timing.json"), {"started": started, "ran": ran, "finished": time.time()})
    # The completion record, last: a step is done only once everything above is on disk (a process that
    # exits 0 without it, e.g. through os._exit, did not finish).
    complete = {"step": step, "finished": time.time()}
    write_json(os.path.join(step_dir, COMPLETE_FILE), complete)
    if warm is not None:
        # Hashed once the engine knows the step is done (WarmPython._exit): the steps below start meanwhile.
        warm.completed, warm.after_done = complete, lambda: hash_saved(step_dir, places)
    else:
        hash_saved(step_dir, places)
    return 0


# --- a step's inputs in a notebook's kernel -----------------------------------


def load_step_inputs(run_dir, step, shell=None):
    """Puts what step `step` of the run in `run_dir` received into the namespace of IPython `shell` (the
    kernel this runs in, by default), as the step's own run did: its imports and functions cells run, then
    `receive` (parameters, inputs, the state of the steps above). The user can then run the step's cells in
    the notebook and see what the step saw. Returns the names set: {"parameters": [...], "inputs": [...]}; raises StepDataError, saying why."""
    program = os.path.join(run_dir, "programs", step + ".py")
    try:
        with open(program, encoding="utf-8") as f:
            spec = _step_literal(_program_parts(f.read())[1])
    except (OSError, ValueError) as err:
        raise StepDataError("Step {}: its program is gone from the run ({}): {}".format(step, program, err)) from err
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise StepDataError("load_step_inputs runs in an IPython kernel (a notebook's), and none is running here")
    parameters = {}
    file = os.path.join(run_dir, "parameters", step + ".json") if "." in step else os.path.join(run_dir, "parameters.json")
    if os.path.exists(file):
        with open(file, encoding="utf-8") as f:
            parameters = json.load(f)
    ns = shell.user_ns
    _NAMESPACE["current"] = ns
    state = InterpreterState(shell, spec["state"]["at"], sys.stderr.write) if spec.get("state") else None
    for index, source in spec["prelude"]:
        result = shell.run_cell(source, store_history=False, silent=True)
        err = result.error_before_exec or result.error_in_exec
        if err is not None:
            raise StepDataError("Step {}: its imports or functions cell {} raised {}: {}".format(
                step, index + 1, type(err).__name__, err)) from err
    receive(spec, ns, os.path.join(run_dir, "data"), parameters, None, state)
    if state is not None and state.finder in sys.meta_path:
        # The state of modules not imported yet is not carried into the kernel: no import hook stays behind.
        sys.meta_path.remove(state.finder)
    return {"parameters": sorted(set(spec["parameters"]) | set(parameters)), "inputs": sorted(spec["ins"])}


# --- cluster containers (targets kfp and argo) ------------------------------

# Words of the container command and how many values follow each (src/core/targets/cluster-step.ts).
_CLUSTER_FLAGS = {
    "--run-dir": 1, "--param": 2, "--in": 2, "--out": 2, "--metrics": 1, "--html": 1, "--outputs": 1,
    "--full-outputs": 1, "--error": 1, "--executor-input": 1, "--workdir": 1, "--results-in-log": 0,
    "--metrics-log": 0,
}

# The last line a failed step writes with `--results-in-log` (KFP uploads no output artifact of a failed
# step, only its log): its error and outputs, for cellpipe to read back and leave out of the log it shows.
RESULTS_LINE = "cellpipe-results: "

# The last line a step that succeeded writes on a cluster: the content hash of each value it saved (its
# lineage), which cellpipe reads from the step's log (Argo's and KFP's alike) and leaves out of the log it shows.
LINEAGE_LINE = "cellpipe-lineage: "

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
    `--results-in-log`: a failed step ends its log with its error and outputs (RESULTS_LINE);
    `--metrics-log`: a step that succeeded ends its log with its numeric metrics as `name=value` lines (Katib);
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
        if values["--results-in-log"]:
            results = {"error": json.loads(error_text()), "outputs": json.loads(capped_outputs(cell_outputs))}
            sys.stderr.write("\n" + RESULTS_LINE + json.dumps(results) + "\n")
        return status
    try:
        with open(os.path.join(run_dir, "steps", spec["step"], HASHES_FILE), encoding="utf-8") as f:
            hashes = json.load(f)
    except (OSError, ValueError):  # hash_saved said why in the log: the lineage lacks them
        hashes = {}
    sys.stderr.write("\n" + LINEAGE_LINE + json.dumps({"outputs": hashes}) + "\n")
    with open(os.path.join(run_dir, "steps", spec["step"], "metrics.json"), encoding="utf-8") as f:
        metrics = {name: _finite(value) for name, value in json.load(f).items()}
    for (path,) in values["--metrics"]:
        write_json(path, metrics)
    if values["--metrics-log"]:
        # Katib's StdOut metrics collector reads `name=value` lines of the main container's log.
        for name, value in sorted(metrics.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value is not None:
                sys.stdout.write("{}={}\n".format(name, value))
        sys.stdout.flush()
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


# --- warm Pythons: the prelude once, each step a fork of it -------------------
#
# `python STEP.py --warm LOG` runs the imports and functions cells (and starts the cell runner, ipykernel's
# kernel object) once, then forks a child per step the engine asks for: the child runs the step program
# it is given exactly as `python PROGRAM RUN_DIR [PARAMETERS]` would, without starting an interpreter,
# a kernel or the prelude again. Requests and replies are JSON lines on fds 3 and 4. A child runs in a
# session of its own (it outlives the engine, which stops it by its process group, as a fresh step).

_RUNTIME_MARK = "# ---- the cellpipe runtime"
_STEP_MARK = "\n# ---- this step ----\n"
_MAIN_MARK = '\nif __name__ == "__main__":'
_GUI_MODULES = ("PyQt5", "PyQt6", "PySide2", "PySide6", "tkinter", "wx", "gi")
_FORK_UNSAFE = (("tensorflow", "TensorFlow"), ("jax", "JAX"))
_HEADLESS_BACKENDS = ("agg", "module://matplotlib_inline.backend_inline", "inline", "pdf", "svg", "ps", "cairo",
                      "pgf", "template")


def _program_parts(text):
    """A step program's runtime (what must be the warm Python's own) and its step (the STEP literal)."""
    head, found, tail = text.partition(_STEP_MARK)
    if not found or _RUNTIME_MARK not in head:
        raise ValueError("not a cellpipe step program")
    return head[head.index(_RUNTIME_MARK):], tail.partition(_MAIN_MARK)[0]


def _step_literal(text):
    namespace = {}
    exec(compile(text, "<step>", "exec"), namespace)
    return namespace["STEP"]


def _open_fds():
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink("/proc/self/fd/" + name)
        except OSError:  # the listing's own descriptor, closed meanwhile
            pass
    return fds


def fork_hazard(threads_before, fds_before):
    """Why a fork of this process would not give a step what a fresh Python that ran the same prelude
    gives it, or None: threads the prelude started (a fork copies only the calling thread), CUDA or a
    runtime that keeps threads, a GUI toolkit, sockets and files the prelude left open (shared by every child)."""
    import threading

    threads = [t.name for t in threading.enumerate() if t.is_alive() and t not in threads_before]
    if threads:
        return "the imports or functions cells left threads running ({}), which a forked step would not have".format(
            ", ".join(sorted(threads)))
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            maps = f.read()
    except OSError:
        maps = ""
    if "libcuda.so" in maps:
        return "the imports or functions cells loaded CUDA (libcuda), which does not survive a fork"
    for module, label in _FORK_UNSAFE:
        if module in sys.modules:
            return "the imports or functions cells imported {}, whose runtime keeps threads a fork does not copy".format(label)
    for module in _GUI_MODULES:
        if module in sys.modules:
            return "the imports or functions cells imported the GUI toolkit {}".format(module)
    mpl = sys.modules.get("matplotlib")
    backend = dict.get(mpl.rcParams, "backend") if mpl is not None and hasattr(mpl, "rcParams") else None
    if isinstance(backend, str) and backend.lower() not in _HEADLESS_BACKENDS:
        return "the imports or functions cells chose the matplotlib backend {!r}, which draws in a window".format(backend)
    for fd, target in sorted(_open_fds().items()):
        if fds_before.get(fd) == target:
            continue
        if target.startswith("socket:"):
            return "the imports or functions cells left a socket open (a connection every forked step would share)"
        if target.startswith("/") and not target.startswith(("/dev/", "/proc/")) and os.path.isfile(target):
            return "the imports or functions cells left the file {} open (forked steps would share it)".format(target)
    return None


def _installed(name, workspace):
    """Whether the top-level module of `name` is an installed library (the standard library, site-packages),
    not code of the notebook's folder: importing that early would run the notebook's own code out of order
    (and an earlier step may still write it)."""
    import sysconfig

    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= {p for p in sysconfig.get_paths().values() if p}
    roots = [os.path.realpath(r) + os.sep for r in roots]
    workspace = os.path.realpath(workspace) + os.sep
    for place in places:
        real = os.path.realpath(place)
        if real.startswith(workspace) or not any(real.startswith(r) for r in roots):
            return False
    return bool(places)


_OWN_CHECKS = ("modules", "environ", "cwd", "sys.path", "warnings.filters")


def _library_filter(entry, modules_before):
    """A warnings filter a library adds for its own warnings when it is imported: for a warning class it
    defines (no warning of it can come before the import), or silencing one message (numpy's "size
    changed", which only imports of compiled extensions give)."""
    action, message, category = entry[0], entry[1], entry[2]
    if getattr(category, "__module__", "builtins").split(".")[0] not in modules_before:
        return True
    return action == "ignore" and message is not None


def _filters_changed(before, after, modules_before):
    kept = [f for f in after if f in before]
    return kept != before or not all(_library_filter(f, modules_before) for f in after if f not in before)


def _observable_state():
    """What an import could change that a step (or the steps after it) would see: the interpreter state
    cellpipe carries between steps (random generators excepted: a fresh import seeds them anew anyway)."""
    handlers = _state_handlers(None, InterpreterState.__new__(InterpreterState))
    values = {}
    for key, (module, read, _) in handlers.items():
        if key in _OWN_CHECKS or key in _SEQUENTIAL or module not in sys.modules:
            continue
        try:
            values[key] = pickle.dumps(read())
        except Exception:
            values[key] = None
    values["environ"] = sorted(os.environ.items())
    values["cwd"] = os.getcwd()
    values["sys.path"] = list(sys.path)
    return values


def _output_size():
    """How much this process has written to its output (the warm Python's log). Seen on the file, not by
    replacing sys.stdout: a library may keep the stream it finds on import (a logging handler)."""
    sys.stdout.flush()
    sys.stderr.flush()
    sizes = []
    for fd in (1, 2):
        try:
            sizes.append(os.fstat(fd).st_size)
        except OSError:
            sizes.append(None)
    return sizes


def _import_quietly(name):
    """Imports `name` (for `from a import b`, the module `a.b`, else `a`); returns why the import is one the
    notebook's order must keep (it printed, warned or changed state that was already there), or None."""
    import warnings

    before, printed = _observable_state(), _output_size()
    filters, modules_before = list(warnings.filters), {m.split(".")[0] for m in sys.modules}
    warned = []
    show = warnings.showwarning
    warnings.showwarning = lambda message, category, *_args, **_kw: warned.append(category.__name__)
    try:
        try:
            importlib.import_module(name)
        except ImportError:
            if "." not in name:
                return "it cannot be imported here"
            parent = name.rpartition(".")[0]
            if parent not in sys.modules:
                importlib.import_module(parent)
    except Exception as err:
        return "importing it raised {}".format(type(err).__name__)
    finally:
        warnings.showwarning = show
    if _output_size() != printed:
        return "it prints when imported"
    if warned:
        return "it warns when imported ({})".format(", ".join(sorted(set(warned))))
    after = _observable_state()
    changed = sorted(k for k in before if after.get(k) != before[k])
    if _filters_changed(filters, list(warnings.filters), modules_before):
        changed.append("warnings.filters")
    if changed:
        return "importing it changes {}".format(", ".join(changed))
    return None


def preimport(modules, skip, workspace, threads, fds):
    """Imports the steps' modules into the warm Python, so that each forked step finds them imported, as a
    later cell of the notebook's kernel finds a module an earlier cell imported. Only what does not change
    what a step computes: an installed library (never the notebook's own code) whose import prints, warns
    and changes nothing a step could see, and leaves no thread, window or CUDA behind (`fork_hazard`).
    The step's own `import` statement still runs in its cell and binds the name there.

    Returns (imported, left, offender): the modules imported; those left to the steps, with the reason;
    and the first module whose import did have an effect (the warm Python must start again without it:
    an import cannot be undone), or None."""
    imported, left = [], {}
    for name in modules:
        if name in skip:
            left[name] = skip[name]
            continue
        if not _installed(name, workspace):
            left[name] = "not an installed library"
            continue
        effect = _import_quietly(name)
        if effect is None:
            hazard = fork_hazard(threads, fds)
            if hazard is not None:
                effect = hazard.replace("the imports or functions cells", "importing it", 1)
        if effect is not None:
            return imported, left, (name, effect)
        imported.append(name)
    return imported, left, None


# A step forked from a warm Python can hand its outputs to the steps that wait only for it: when its cells
# have run, those steps start as forks of it (they find the values in memory, as the notebook's next cell
# does) while it writes the files, which the cache, resume and the steps' lineage need. Its step is done
# only once they are written (the engine records the consumer as succeeded only then). A consumer is made
# what a fork of the warm Python that loaded its inputs would be: every name the provider's cells bound is
# gone, the prelude's names and IPython's history are the warm Python's, the environment, sys.path and
# figures too; from memory come only values that load back from their files as they are (plain arrays,
# frames of numeric columns), never two that share memory; the provider saves the rest before the fork.


def _byte_ranges(value):
    """The memory of a value that loads back from its file exactly as it is, as (start, end) ranges: a plain
    NumPy array, or a frame of numeric columns with a range or numeric index, its blocks writable. None for
    any other value (saved before the fork; the consumer loads it)."""
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    if np is None:
        return None
    bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds
    if type(value) is np.ndarray and value.dtype != object and _choose_format(value) == "npy":
        arrays = [value]
    elif pd is not None and type(value) is pd.DataFrame and _choose_format(value) == "arrow":
        index = value.index
        numeric_index = type(index) is pd.RangeIndex or (
            type(index) is pd.Index and isinstance(index.dtype, np.dtype) and index.dtype.kind in "iuf")
        if not numeric_index or value.columns.has_duplicates or isinstance(value.columns, pd.MultiIndex) or \
                not all(isinstance(t, np.dtype) and t.kind in "biuf" for t in value.dtypes):
            return None
        arrays = list(getattr(value._mgr, "arrays", None) or [])
    else:
        return None
    if not arrays or not all(isinstance(a, np.ndarray) and a.flags.writeable for a in arrays):
        return None
    return [bounds(a) for a in arrays]


def _overlap(ranges, others):
    return any(s < e2 and s2 < e for s, e in ranges for s2, e2 in others)


class WarmMark:
    """What a fork of the warm Python finds, kept to make a fork of a step's process the same: the namespace
    after the prelude (names and, as digests, the values), IPython's history and counters, the figures
    open, sys.path and the environment."""

    def __init__(self, runner):
        shell = runner.shell
        self.names = dict(runner.namespace)
        hidden = getattr(shell, "user_ns_hidden", {}) if shell is not None else {}
        self.digests = {name: fingerprint(value) for name, value in self.names.items()
                        if not name.startswith("_") and name not in hidden and not isinstance(value, types.ModuleType)}
        self.history = None
        history = getattr(shell, "history_manager", None)
        if history is not None:
            hook = shell.displayhook
            self.history = {"count": shell.execution_count, "hook": (hook._, getattr(hook, "__"), getattr(hook, "___")),
                            "lists": {attr: len(getattr(history, attr)) for attr in _HISTORY_LISTS},
                            "dicts": {attr: set(getattr(history, attr)) for attr in _HISTORY_DICTS}}
        self.figures = set(sys.modules["matplotlib.pyplot"].get_fignums()) if "matplotlib.pyplot" in sys.modules else set()
        self.path, self.environ = list(sys.path), dict(os.environ)

    def changed(self):
        """A value of the prelude the step's cells changed in place (its fork would see the change), or None."""
        for name, digest in self.digests.items():
            if digest is None:
                return "{!r} of the imports or functions cells cannot be compared".format(name)
            if fingerprint(self.names[name]) != digest:
                return "its cells changed {!r} of the imports or functions cells in place".format(name)
        return None

    def restore(self, runner):
        ns, shell = runner.namespace, runner.shell
        for name in [n for n in ns if n not in self.names]:
            del ns[name]
        for name, value in self.names.items():
            if ns.get(name, _MISSING) is not value:
                ns[name] = value
        if self.history is not None:
            history, hook = shell.history_manager, shell.displayhook
            shell.execution_count = self.history["count"]
            for attr, value in zip(("_", "__", "___"), self.history["hook"]):
                setattr(hook, attr, value)
            for attr, length in self.history["lists"].items():
                del getattr(history, attr)[length:]
            for attr, keys in self.history["dicts"].items():
                kept = getattr(history, attr)
                for key in [k for k in kept if k not in keys]:
                    del kept[key]
        if "matplotlib.pyplot" in sys.modules:
            plt = sys.modules["matplotlib.pyplot"]
            for number in set(plt.get_fignums()) - self.figures:
                plt.close(number)
        sys.path[:] = self.path
        os.environ.clear()
        os.environ.update(self.environ)


_MISSING = object()
_HISTORY_LISTS = ("input_hist_parsed", "input_hist_raw", "dir_hist", "db_input_cache", "db_output_cache")
_HISTORY_DICTS = ("output_hist", "output_hist_reprs")


def _await_saved(folder, name, provider):
    """Waits until the provider (this process's parent while it runs) has saved `name`."""
    meta = os.path.join(folder, file_stem(name) + ".json")
    while not os.path.exists(meta) and os.getppid() == provider:
        time.sleep(0.05)


class Handoff:
    """A forked step's side of handing its outputs over (`address`: the engine's socket, from the request
    that forked it; None: not offered)."""

    def __init__(self, address=None, subreaper=False, mark=None):
        self.address, self.subreaper, self.warm_mark, self.before = address, subreaper, mark, None

    def mark(self):
        """After the step received its inputs: what a fork of it may share (threads, open files) is what it
        has now."""
        if self.address:
            import threading

            self.before = (set(threading.enumerate()), _open_fds())

    def values(self, spec, ns):
        """The outputs to hand over in memory (a fork is safe, and they load back as they are), else {}."""
        if not self.address or not self.subreaper or self.before is None:
            return {}
        ranges = {name: _byte_ranges(ns[name]) for name in spec["outs"]}
        ranges = {name: r for name, r in ranges.items() if r is not None}
        prelude = [r for r in map(_byte_ranges, self.warm_mark.names.values()) if r is not None]
        shared = set()
        names = sorted(ranges)
        for i, name in enumerate(names):
            for other in names[i + 1:]:
                if ns[name] is ns[other] or _overlap(ranges[name], ranges[other]):
                    shared |= {name, other}
            if any(_overlap(ranges[name], r) for r in prelude):
                shared.add(name)
        return {name: ns[name] for name in names if name not in shared}

    def offer(self, warm, step, values):
        """Tells the engine that the step's cells have run and forks the steps it asks for; with nothing to
        hand over, or when a fork of this process would not be what loading gives (`fork_hazard`, a prelude
        value changed), says why and forks none. The engine gone: nothing is forked."""
        import socket

        if not values:
            return
        _stop_history_thread(warm.runner.shell)
        hazard = fork_hazard(*self.before)
        hazard = hazard.replace("the imports or functions cells", "its cells", 1) if hazard else self.warm_mark.changed()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.address)

            def send(message):
                conn.sendall((json.dumps(message) + "\n").encode("utf-8"))

            send({"event": "values", "step": step, "pid": os.getpid(), "hazard": hazard})
            # Answered even when refused: the engine has then noted why before this step can end, and the
            # steps below start from the files saying so (it asks for no fork).
            line = conn.makefile("rb").readline()
            for request in json.loads(line).get("forks", []) if line and hazard is None else []:
                warm.fork_step(request, send, [conn.fileno()], (step, values, os.getpid()))
        except (OSError, ValueError) as err:
            sys.stderr.write("cellpipe: the steps below start from the saved files: {}\n".format(err))
        finally:
            conn.close()


def _stop_history_thread(shell):
    """IPython's history thread, before a fork: a child could find its lock held, and steps keep no history
    (a forked child starts its own)."""
    history = getattr(shell, "history_manager", None)
    if getattr(history, "save_thread", None) is not None:
        history.save_thread.stop()
        history.save_thread = None


def _become_subreaper():
    """Makes this process the one that waits for its orphaned descendants (a step forked from a step whose
    process ended), so that their exit statuses reach the engine. False where Linux's prctl is missing."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


class WarmPython:
    """The process steps are forked from: the cell runner started, the prelude run once, and the modules the
    steps import imported (those that may be)."""

    def __init__(self, spec, program, log, modules=(), skip=None):
        import threading

        with open(program, encoding="utf-8") as f:
            self.runtime = _program_parts(f.read())[0]
        self.prelude, self.home = spec["prelude"], os.path.dirname(os.path.abspath(program))
        self.runner = CellRunner()
        _NAMESPACE["current"] = self.runner.namespace
        threads, fds = set(threading.enumerate()), _open_fds()
        self.start = (os.getcwd(), list(sys.path), dict(os.environ))
        self.error = run_prelude(self.runner, self.prelude)
        self.cwd = os.path.relpath(os.getcwd(), self.start[0])
        _stop_history_thread(self.runner.shell)
        self.hazard = fork_hazard(threads, fds)
        self.imported, self.left = [], dict(skip or {})
        if self.error is None and self.hazard is None and modules:
            self.imported, self.left, offender = preimport(modules, self.left, self.start[0], threads, fds)
            if offender is not None:
                # Imported now, and an import cannot be undone: start again, leaving it to the steps.
                self.left[offender[0]] = offender[1]
                # After a few such modules, the rest are left to the steps too (each start runs the prelude).
                self._restart(program, log, modules if len(self.left) < 4 else [])
        sys.stdout.flush()
        sys.stderr.flush()
        # What the prelude printed: every step's log starts with it, as a fresh step's log does.
        with open(log, "rb") as f:
            self.output = f.read()
        self.mark = WarmMark(self.runner)
        self.subreaper = _become_subreaper()
        # A forked step's: how it hands its outputs over, what its provider handed it, its completion
        # record once written (reported to the engine before the process ends) and what it does after that.
        self.handoff, self.handed, self.completed, self.after_done = Handoff(), None, None, None
        self.replies = None

    def _restart(self, program, log, modules):
        sys.stdout.flush()
        sys.stderr.flush()
        os.ftruncate(1, 0)  # the log (stdout and stderr): the prelude's output is printed again
        os.lseek(1, 0, os.SEEK_SET)
        os.chdir(self.start[0])
        os.execve(sys.executable, [sys.executable, program, "--warm", log, json.dumps(list(modules)),
                                   json.dumps(self.left)], self.start[2])

    def serve(self, requests=3, replies=4):
        import select
        import signal

        def reply(message):
            data = (json.dumps(message) + "\n").encode("utf-8")
            while data:
                data = data[os.write(replies, data):]

        if self.error is not None or self.hazard is not None:
            reason = self.hazard or "the imports or functions cells failed ({})".format(self.error["message"])
            reply({"event": "refused", "reason": reason})
            return 0
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        own = [requests, wake_r, wake_w]
        # Kept open in forked steps, which report on it that they are done before their process ends; never
        # passed on to what a step execs or starts.
        os.set_inheritable(replies, False)
        self.replies = replies
        reply({"event": "ready", "pid": os.getpid(), "imported": self.imported, "left": self.left,
               "handoff": self.subreaper})
        self._prefork(own)
        pending = b""
        while True:
            readable = select.select([requests, wake_r], [], [])[0]
            if wake_r in readable:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            self._reap(reply)
            if requests in readable:
                data = os.read(requests, 65536)
                if not data:
                    return 0  # the engine is gone: forked steps go on by themselves, in their own sessions
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self._start(json.loads(line), reply, own)

    def _prefork(self, own):
        """Forks the next step's process before it is asked for (a fork copies the page tables of the whole
        process: tens of milliseconds with pandas, scikit-learn and matplotlib, under load), so that a
        request only hands it its step. It waits for its request on a pipe; when this Python ends unused,
        the pipe's end tells it to exit."""
        import gc
        import random
        import signal

        self.spare = None
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        generator = random.getstate()  # a fork reseeds `random`; a fresh step continues the prelude's seed
        gc.freeze()  # as in fork_step
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid != 0:
            os.close(read)
            self.spare = (pid, write)
            return
        def wait_and_run():
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in own + [write]:
                os.close(fd)
            line = b""
            while not line.endswith(b"\n"):
                data = os.read(read, 65536)
                if not data:
                    os._exit(0)  # this Python ended, or gave the request to a fork of its own
                line += data
            os.close(read)
            random.setstate(generator)
            return self._child(json.loads(line), [])

        self._run_child(wait_and_run)

    def _start(self, request, reply, own):
        """A request of the engine: given to the process forked for it in advance, else forked now."""
        spare, self.spare = self.spare, None
        if spare is not None:
            pid, write = spare
            try:
                data = (json.dumps(request) + "\n").encode("utf-8")
                while data:
                    data = data[os.write(write, data):]
            except OSError:
                spare = None  # it died meanwhile (its exit is reaped as any other's)
            finally:
                os.close(write)
        if spare is not None:
            reply({"event": "started", "id": request["id"], "pid": spare[0]})
        else:
            self.fork_step(request, reply, own)
        self._prefork(own)

    def _reap(self, reply):
        import signal

        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if os.WIFSIGNALED(status):
                reply({"event": "exit", "pid": pid, "code": None, "signal": signal.Signals(os.WTERMSIG(status)).name})
            else:
                reply({"event": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status), "signal": None})

    def fork_step(self, request, reply, own, handed=None):
        """Forks the step of `request` (its program, arguments, working directory and log) and replies with
        its pid. `handed`: this is a step's process, forking a step below it with the values (provider,
        {name: value}, provider's pid)."""
        import gc
        import random

        if handed is not None and not self._runs(request["program"]):
            reply({"event": "failed", "id": request["id"], "message": "its program's runtime or prelude differs"})
            return
        sys.stdout.flush()
        sys.stderr.flush()
        generator = random.getstate()  # a fork reseeds `random`; a fresh step continues the prelude's seed
        # What this process holds is left out of the garbage collector's passes (they would write to every
        # object, so a child's first full collection copied the whole heap: ~0.8 s with pandas, scikit-learn
        # and matplotlib imported). A cycle among them that a step drops is freed when the step's process ends.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as err:
            reply({"event": "failed", "id": request["id"], "message": str(err)})
            return
        if pid != 0:
            reply({"event": "started", "id": request["id"], "pid": pid})
            return
        def run():
            random.setstate(generator)
            return self._child(request, own, handed)

        self._run_child(run)

    def _run_child(self, run):
        """A forked step's process: `run()` gives its exit status; it never returns to the caller's code."""
        status = 1
        try:
            status = run()
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            self._exit(status)

    def _exit(self, status):
        """A forked step's end: its exit handlers run and its output is flushed (its log is whole), it tells
        the engine it is done when it wrote its completion record, hashes what it saved for the lineage (the
        steps below go on meanwhile), then the process ends without tearing down what it holds (freeing a fork's memory took 6-31 ms per step here, now off the run's path)."""
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            if status == 0 and self.completed is not None and self.replies is not None:
                line = json.dumps({"event": "done", "pid": os.getpid(), "record": self.completed}) + "\n"
                os.write(self.replies, line.encode("utf-8"))  # one write below PIPE_BUF: never interleaved
        except OSError:
            pass  # the engine is gone: it judges the step by its files
        try:
            if status == 0 and self.after_done is not None:
                self.after_done()  # the lineage's hashes, which the engine reads once this process ended
                sys.stderr.flush()
        finally:
            os._exit(status)

    def _runs(self, program):
        """Whether `program` has this Python's runtime and prelude (else it must start fresh)."""
        with open(program, encoding="utf-8") as f:
            runtime, step = _program_parts(f.read())
        spec = _step_literal(step)
        return runtime == self.runtime and [list(c) for c in spec["prelude"]] == [list(c) for c in self.prelude]

    def _child(self, request, own, handed=None):
        import atexit
        import signal

        os.setsid()
        _record_process(request.get("identity"))
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in own:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        data = self.output
        while data:
            data = data[os.write(log, data):]
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        atexit._clear()  # the warm Python's exit handlers (IPython's history) are not the step's
        if handed is not None:
            self.mark.restore(self.runner)  # a fork of a step's process: as a fork of the warm Python
        self.handoff = Handoff(request.get("handoff"), self.subreaper, self.mark)
        self.handed, self.completed, self.after_done = handed, None, None
        history = getattr(self.runner.shell, "history_manager", None)
        if getattr(history, "enabled", False):
            # A history session of its own, on a connection of its own, as a fresh step has (IPython
            # restarts its history thread in the child; siblings writing one session collide).
            try:
                history.init_db()
                history.new_session()
            except Exception as err:  # a history that cannot be written does not fail a step
                sys.stderr.write("cellpipe: IPython's history: {}\n".format(err))
        program, args, cwd = request["program"], list(request["args"]), request["cwd"]
        os.chdir(cwd)
        with open(program, encoding="utf-8") as f:
            runtime, step = _program_parts(f.read())
        spec = _step_literal(step)
        if runtime != self.runtime or [list(c) for c in spec["prelude"]] != [list(c) for c in self.prelude]:
            # Not the program this Python was warmed for: run it as a fresh process would.
            os.execv(sys.executable, [sys.executable, program] + args)
        here = os.path.dirname(os.path.abspath(program))
        path = list(self.start[1])
        for paths in (path, sys.path):  # the program's folder, which Python put on the path, is this one's
            if self.home in paths:
                paths[paths.index(self.home)] = here
        if self.cwd != "." and os.path.isdir(os.path.join(cwd, self.cwd)):
            os.chdir(os.path.join(cwd, self.cwd))  # where the prelude left the working directory
        self.start = (cwd, path, self.start[2])
        sys.argv = [program] + args
        return main(spec, sys.argv, warm=self)


def _record_process(path):
    """Writes this forked step's pid and start (as the engine names processes: boot id and start time in
    clock ticks) to `path`: its command line is the warm Python's, so an owner that died before recording
    the pid leaves the next owner this file to find the step by (it never starts it a second time)."""
    if not path:
        return
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as f:
            boot = f.read().strip()
        with open("/proc/self/stat", encoding="utf-8") as f:
            ticks = f.read().rsplit(")", 1)[1].split()[19]
        write_json(path, {"pid": os.getpid(), "start": "{}:{}".format(boot, ticks)})
    except OSError:
        write_json(path, {"pid": os.getpid()})


def warm_main(spec, argv):
    """`python STEP.py --warm LOG [MODULES [LEFT]]`: a warm Python for the steps whose prelude is this step's
    (LOG: its output; MODULES: a JSON list of the modules the steps import; LEFT: those not to import, with
    why, as a JSON object)."""
    modules = json.loads(argv[3]) if len(argv) > 3 else []
    skip = json.loads(argv[4]) if len(argv) > 4 else {}
    return WarmPython(spec, argv[0], argv[2], modules, skip).serve()


def main(spec, argv, warm=None):
    """Entry point of a step program: `python STEP.py RUN_DIR [PARAMS_JSON]`, or `--cluster ...` in a pod
    (`--warm LOG`: the local engine's warm Python, see WarmPython)."""
    if len(argv) > 1 and argv[1] == "--cluster":
        return cluster_main(spec, argv[2:])
    if len(argv) > 2 and argv[1] == "--warm":
        return warm_main(spec, argv)
    if len(argv) < 2:
        sys.stderr.write("usage: python {} RUN_DIR [PARAMETERS.json]\n".format(os.path.basename(argv[0])))
        return 2
    parameters = {}
    if len(argv) > 2:
        with open(argv[2], encoding="utf-8") as f:
            parameters = json.load(f)
    return run_step(spec, argv[1], parameters, warm=warm)
