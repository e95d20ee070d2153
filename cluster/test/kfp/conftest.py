"""The KFP cases run against the notebook server in namespace kubeflow (cluster/kfp/up.sh makes it:
single-user KFP runs its pods there, so only a PVC of that namespace can be a run's workspace snapshot),
with the helpers of the Argo cases one folder up."""

import os
import sys
from pathlib import Path

assert os.environ.get("NB_NS") == "kubeflow", "run the KFP cases with NB_NS=kubeflow (cluster/test/run.sh does)"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
