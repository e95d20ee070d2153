#!/bin/bash
# make test-cluster: the end-to-end suite on the running lab (make cluster first).
#  1. pytest (cluster/test/test_*.py): the CLI in the notebook pod, the cluster's API checked with kubectl;
#  2. pytest (cluster/test/kfp): the same against Kubeflow Pipelines, from the notebook server in namespace
#     kubeflow, when KFP is up on the lab (cluster/kfp/up.sh, `KFP_SRC=... make cluster-kfp`);
#  3. Playwright (ui-tests/playwright.cluster.config.js): JupyterLab in the notebook pod through
#     kubectl port-forward on 127.0.0.1:$GALATA_PORT.
# Last line: "N passed, N failed".
set -u; . "$(dirname "$0")/../scripts/lib.sh"
cd $ROOT; R=$ROOT/build/reports/cluster; rm -rf $R; mkdir -p $R
export NB_NS=${NB_NS:-team-a} GALATA_PORT=${GALATA_PORT:-8891}
.venv/bin/pytest -q -p no:cacheprovider --rootdir=cluster/test --junitxml=$R/pytest.xml --ignore=cluster/test/kfp cluster/test "$@"
reports="pytest=$R/pytest.xml"
if curl -sf http://10.88.0.1:8888/apis/v2beta1/healthz >/dev/null 2>&1; then
  NB_NS=kubeflow .venv/bin/pytest -q -p no:cacheprovider --rootdir=cluster/test --junitxml=$R/pytest-kfp.xml cluster/test/kfp
  reports="$reports pytest=$R/pytest-kfp.xml"
else
  echo "KFP cases not run: Kubeflow Pipelines is not up on the lab (KFP_SRC=DIR make cluster-kfp; cluster/README.md, KFP)"
fi
# JupyterLab of the notebook pod on 127.0.0.1:$GALATA_PORT for the UI tests
kubectl -n $NB_NS port-forward --address 127.0.0.1 pod/nb-0 $GALATA_PORT:8888 > $R/port-forward.log 2>&1 &
pf=$!
waitfor 30 curl -sf http://127.0.0.1:$GALATA_PORT/notebook/$NB_NS/nb/api/status
(cd ui-tests && CI=1 npx playwright test -c playwright.cluster.config.js)
kill $pf 2>/dev/null
python3 .ci/summarize.py $reports playwright=ui-tests/test-results/cluster-results.json
