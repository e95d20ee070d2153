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
