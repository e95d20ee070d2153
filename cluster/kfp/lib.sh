# Sourced by every cluster/kfp script (it sources the lab's scripts/lib.sh first): . "$(dirname "$0")/lib.sh"
# KFP: this folder (only read).  K: KFP's state under the lab, $LAB/kfp (bin/ images/ config/ home/ venv/
# data/ logs/ pids/ run/). Its host processes keep their PIDs in $K/pids; scripts/down.sh stops them first.
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
KFP=$CLUSTER/kfp; K=$LAB/kfp; KFP_VERSION=2.17.0
mkdir -p $K/logs $K/pids $K/bin $K/images
# need_src: KFP_SRC is a checkout or extracted tree of the public kubeflow/pipelines repository at 2.17.0
# (the Go module proxy does not serve it: its tags have no "v"). Nothing here downloads it.
need_src() {
  if [ -z "${KFP_SRC:-}" ]; then
    echo "KFP_SRC is not set: point it at a checkout or extracted tree of kubeflow/pipelines at tag $KFP_VERSION" >&2; exit 1; fi
  if [ ! -d "$KFP_SRC/backend/src/apiserver" ] || [ ! -d "$KFP_SRC/manifests/kustomize/base" ] \
     || [ "$(cat "$KFP_SRC/VERSION" 2>/dev/null)" != "$KFP_VERSION" ]; then
    echo "KFP_SRC=$KFP_SRC is not kubeflow/pipelines $KFP_VERSION (VERSION, backend/src/apiserver, manifests/kustomize/base)" >&2; exit 1; fi
  KFP_SRC=$(cd "$KFP_SRC" && pwd); export KFP_SRC; }
# alive NAME: its PID file names a live process (a zombie counts as dead)
alive() { local f=$K/pids/$1.pid; [ -f $f ] || return 1; local p=$(cat $f)
  kill -0 $p 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status 2>/dev/null; }
# kstart NAME cmd...: a KFP host process in the background, its PID in $K/pids, its log in $K/logs
kstart() { local n=$1; shift; alive $n && return 0
  nohup "$@" > $K/logs/$n.log 2>&1 & echo $! > $K/pids/$n.pid; echo "started $n pid $!"; }
# The KFP API as the lab's pods and host reach it (the api-server is a host process on the bridge)
KFP_API=http://10.88.0.1:8888
