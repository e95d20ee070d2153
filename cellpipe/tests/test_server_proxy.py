"""The jupyter-server-proxy registration starts a working server (a real Node process)."""

import http.client
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from importlib.metadata import entry_points

import pytest

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


@pytest.fixture
def proxied(tmp_path):
    """A real Jupyter server with a JupyterHub-style base URL, and `call(path, body, content_type)` to
    reach <base_url>PATH through it (jupyter-server-proxy starts cellpipe's server on first use)."""
    import sys

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

    def call(path, body=None, content_type="application/json", method=None):
        data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            base + path, data=data, headers={"Authorization": "token secret", "Content-Type": content_type},
            method=method or ("GET" if body is None else "POST"),
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    try:
        # A busy machine may need a while to start Jupyter: wait for it to answer, up to two minutes.
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "api/status?token=secret", timeout=5)
                break
            except OSError:
                assert time.time() < deadline, "the Jupyter server did not start"
                time.sleep(0.2)
        yield call
    finally:
        jupyter.terminate()
        jupyter.wait(timeout=30)


def test_under_a_jupyterhub_base_url_the_proxy_serves_the_api_and_runs(tmp_path, proxied):
    import shutil

    from .conftest import EXAMPLES

    shutil.copy(EXAMPLES / "numpy-montecarlo.ipynb", tmp_path / "pi.ipynb")
    status, health = proxied("cellpipe/api/health")
    assert (status, health["status"]) == (200, "ok")
    status, started = proxied("cellpipe/api/runs", {"notebook": "pi.ipynb"})
    assert status == 201
    for _ in range(300):
        _, record = proxied(f"cellpipe/api/runs/{started['run']}?notebook=pi.ipynb")
        if record["status"] != "running":
            break
        time.sleep(0.2)
    assert record["status"] == "succeeded"
    assert 3.1 < record["metrics"]["pi_estimate"] < 3.2


def test_through_the_proxy_every_answer_comes_after_the_whole_request(proxied):
    """What the proxy saw as broken pipes (500s): the server answered before reading the body."""
    assert proxied("cellpipe/api/health")[0] == 200
    for _ in range(20):
        status, body = proxied("cellpipe/api/runs/nope/cancel", {})
        assert (status, body["error"]["code"]) == (409, "not-running")
        status, body = proxied("cellpipe/api/runs", b"notebook=x.ipynb", "application/x-www-form-urlencoded")
        assert (status, body["error"]["code"]) == (415, "json-required")
    for _ in range(5):
        status, body = proxied("cellpipe/api/runs", b"x" * (1024 * 1024), "text/plain")
        assert (status, body["error"]["code"]) == (415, "json-required")
    # Jupyter refuses a malformed URL itself (400) before the proxy; cellpipe's own 400 is in the fault suite.
    assert proxied("cellpipe/api/runs/%E0%A4%A?notebook=x.ipynb")[0] == 400
    assert proxied("cellpipe/api/health")[0] == 200
