"""Jupyter Server configuration for the UI tests. It disables all security: tests only."""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (`c` is injected by Jupyter)

# galata hard-codes port 8888 without retries; GALATA_PORT lets two runs coexist.
c.ServerApp.port = int(os.environ.get("GALATA_PORT", "8888"))  # noqa: F821
# CI and these machines run as root.
c.ServerApp.allow_root = True  # noqa: F821
