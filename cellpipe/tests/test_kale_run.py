"""Notebooks tagged for Kale by others run unchanged as local pipelines: those whose libraries this
environment has (the others need TensorFlow, PyTorch or GPUs). Where a notebook has a pipeline-metrics
cell, the pipeline's metrics are the ones a top-to-bottom run prints."""

import ast
import json
import shutil
import subprocess

import pytest

from .conftest import KALE_EXAMPLES
from .test_cli_run import notebook_metrics

RUNNABLE = [
    "base/candies_sharing.ipynb",
    "tests-assets/notebooks/pipeline_parameters_and_metrics.ipynb",
    "titanic-ml-dataset/titanic_dataset_ml.ipynb",
]
# Metrics of unseeded random numbers: the same name and type, not the same value, in two runs.
RANDOM_METRICS = {"sum_result"}


@pytest.mark.parametrize("name", RUNNABLE)
def test_a_kale_notebook_runs_unchanged_as_a_local_pipeline(cellpipe_cli, tmp_path, name):
    folder = tmp_path / "example"
    shutil.copytree(KALE_EXAMPLES / name.split("/")[0], folder)
    path = folder / name.split("/", 1)[1]
    result = subprocess.run([cellpipe_cli, "run", str(path), "--json"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "succeeded" and all(s["status"] == "succeeded" for s in data["steps"])
    if data["metrics"]:
        expected = {k: ast.literal_eval(v) for k, v in notebook_metrics(path, path.parent).items()}
        assert data["metrics"].keys() == expected.keys()
        for name, value in expected.items():
            if name in RANDOM_METRICS:
                assert type(data["metrics"][name]) is type(value)
            else:
                assert data["metrics"][name] == value, name
