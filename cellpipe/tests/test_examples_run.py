"""Every example notebook runs top to bottom in a real kernel (later issues run them as pipelines too)."""

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import EXAMPLES, notebooks_in


@pytest.mark.parametrize("path", notebooks_in(EXAMPLES), ids=lambda p: p.name)
def test_example_runs_top_to_bottom_and_prints_its_metrics(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    [metrics] = [c for c in nb.cells if "pipeline-metrics" in c.get("metadata", {}).get("tags", [])]
    printed = "".join(o.get("text", "") for o in metrics.outputs if o.output_type == "stream").split()
    assert len(printed) == len(metrics.source.strip().splitlines())
    for value in printed:
        float(value)  # every metric of the examples is a number
