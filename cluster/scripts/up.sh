#!/bin/bash
# Starts the whole lab (build.sh first): the cluster, Argo with its S3 artifact repository, CSI snapshots,
# and the notebook server of the user's namespace. A daemon already running is left as it is.
set -eu; . "$(dirname "$0")/lib.sh"; T0=$(date +%s)
for s in 00-pki 10-net 20-etcd 30-containerd 40-apiserver 41-cm-sched 50-kubelet 51-kube-proxy 60-argo 65-argo-s3 70-csi 80-notebook; do
  echo "=== $s [$(( $(date +%s) - T0 ))s]"; $CLUSTER/scripts/$s.sh
done
echo "=== lab up in $(( $(date +%s) - T0 ))s; export KUBECONFIG=$LAB/admin.kubeconfig PATH=$LAB/bin:\$PATH"
