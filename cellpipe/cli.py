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
    # exec: signals, stdin/stdout and the exit status belong to the CLI itself.
    os.execv(node, [node, str(script), *sys.argv[1:]])
