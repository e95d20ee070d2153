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
