"""The `cellpipe` console script: runs the bundled CLI on the wheel's Node.js."""

import os
import sys

from .node import bundle, node_executable


def main() -> None:
    try:
        script = bundle("cli.js")
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    node = node_executable()
    # Steps run on the Python cellpipe is installed in unless the user says otherwise.
    os.environ.setdefault("CELLPIPE_PYTHON", sys.executable)
    # Node keeps the bundle's compiled code between runs (Node >= 22; older ones ignore it): a one-off
    # `cellpipe run` starts sooner.
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cellpipe", "node")
    os.environ.setdefault("NODE_COMPILE_CACHE", cache)
    # exec: signals, stdin/stdout and the exit status belong to the CLI itself.
    os.execv(node, [node, str(script), *sys.argv[1:]])
