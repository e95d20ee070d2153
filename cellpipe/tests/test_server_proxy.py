"""The jupyter-server-proxy registration starts a working server (a real Node process)."""

import http.client
import socket
import subprocess
import time
from importlib.metadata import entry_points

from cellpipe.server_proxy import setup_cellpipe_server


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def test_the_entry_point_is_registered():
    names = {e.name: e.value for e in entry_points(group="jupyter_serverproxy_servers")}
    assert names["cellpipe"] == "cellpipe.server_proxy:setup_cellpipe_server"


def test_the_command_starts_the_server_on_the_unix_socket(tmp_path):
    config = setup_cellpipe_server()
    assert config["unix_socket"] is True
    assert config["launcher_entry"] == {"enabled": False}
    sock = str(tmp_path / "cellpipe.sock")
    process = subprocess.Popen(config["command"](sock), stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if (tmp_path / "cellpipe.sock").exists():
                break
            time.sleep(0.05)
        conn = UnixHTTPConnection(sock)
        conn.request("GET", "/api/health")
        response = conn.getresponse()
        assert response.status == 200
        assert b'"status":"ok"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not (tmp_path / "cellpipe.sock").exists(), "the server removes its socket on SIGTERM"


def test_under_a_jupyterhub_base_url_the_proxy_serves_the_api_and_runs(tmp_path):
    """A real Jupyter server with a JupyterHub-style base URL: the frontend's requests go to
    <base_url>cellpipe/..., which jupyter-server-proxy forwards to a server it starts on first use."""
    import json
    import shutil
    import sys
    import urllib.request

    from .conftest import EXAMPLES

    shutil.copy(EXAMPLES / "numpy-montecarlo.ipynb", tmp_path / "pi.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/user/alice/"
    jupyter = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", f"--port={port}", "--ServerApp.base_url=/user/alice/",
         "--IdentityProvider.token=secret", f"--ServerApp.root_dir={tmp_path}", "--ServerApp.open_browser=False",
         "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def call(path, body=None):
        request = urllib.request.Request(
            base + path, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "token secret", "Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())

    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "api/status?token=secret", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        status, health = call("cellpipe/api/health")
        assert (status, health["status"]) == (200, "ok")
        status, started = call("cellpipe/api/runs", {"notebook": "pi.ipynb"})
        assert status == 201
        for _ in range(300):
            _, record = call(f"cellpipe/api/runs/{started['run']}?notebook=pi.ipynb")
            if record["status"] != "running":
                break
            time.sleep(0.2)
        assert record["status"] == "succeeded"
        assert 3.1 < record["metrics"]["pi_estimate"] < 3.2
    finally:
        jupyter.terminate()
        jupyter.wait(timeout=30)
