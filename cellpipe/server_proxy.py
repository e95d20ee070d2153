"""jupyter-server-proxy entry point: JupyterLab starts the cellpipe server on first use."""

from .node import bundle, node_executable


def _command(unix_socket):
    return [node_executable(), str(bundle("server.js")), "--socket", unix_socket]


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
