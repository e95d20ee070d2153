import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
KALE_EXAMPLES = REPO.parent / "shared" / "kale-examples"


@pytest.fixture(scope="session")
def cellpipe_cli():
    """The installed console script, as a user runs it."""
    path = shutil.which("cellpipe") or str(REPO / ".venv" / "bin" / "cellpipe")
    assert Path(path).exists(), "cellpipe is not installed in the venv: run make test"
    return path
