import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
KALE_EXAMPLES = REPO.parent / "shared" / "kale-examples"


def notebooks_in(folder, recursive=False):
    """The notebooks in a folder of test input; a missing or empty folder fails instead of giving no tests."""
    found = sorted(folder.rglob("*.ipynb") if recursive else folder.glob("*.ipynb"))
    assert found, f"no notebooks in {folder}: the test input is missing"
    return found


@pytest.fixture(scope="session")
def cellpipe_cli():
    """The installed console script, as a user runs it."""
    path = shutil.which("cellpipe") or str(REPO / ".venv" / "bin" / "cellpipe")
    assert Path(path).exists(), "cellpipe is not installed in the venv: run make test"
    return path


@pytest.fixture(params=["forked", "fresh"])
def step_processes(request, monkeypatch):
    """Runs a test with steps forked from a warm Python (the default) and as fresh Pythons (CELLPIPE_WARM=0):
    the pipeline must compute the same either way. Yields the kind each run must record."""
    monkeypatch.setenv("CELLPIPE_WARM", "1" if request.param == "forked" else "0")
    yield request.param


def recorded_processes(folder):
    """How the steps of the latest run of the notebooks in `folder` started (run.json `processes`)."""
    runs = sorted((folder / ".cellpipe" / "runs").glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    assert runs, f"no run in {folder}"
    import json

    return json.loads(runs[-1].read_text())["processes"]["kind"]
