"""jupyter-server-proxy entry point: JupyterLab starts the cellpipe server on first use."""

import sys

from .node import bundle, node_executable


def _root_dir():
    """The Jupyter server's root directory: notebook paths from requests are confined to it."""
    try:
        from jupyter_server.serverapp import ServerApp

        if ServerApp.initialized():
            return ServerApp.instance().root_dir
    except ImportError:
        pass
    return "."


def _command(unix_socket):
    return [
        node_executable(),
        str(bundle("server.js")),
        "--socket",
        unix_socket,
        "--root",
        _root_dir(),
        # Steps run on the Python the Jupyter server runs on (the one with ipykernel).
        "--python",
        sys.executable,
    ]


def setup_cellpipe_server():
    return {
        "command": _command,
        # Only the Jupyter server can reach a unix socket; every request carries Jupyter's auth.
        "unix_socket": True,
        # Node starts in well under a second, but a loaded 2-core machine needs slack.
        "timeout": 30,
        "absolute_url": False,
        "launcher_entry": {"enabled": False},
    }
