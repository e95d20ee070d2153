#!/bin/bash
# Argo Workflows v3.7.17: CRDs + executor RBAC + argoexec image + workflow-controller (host process)
set -eu; . "$(dirname "$0")/lib.sh"
V=v3.7.17
# The argoexec image is built by build.sh and imported by 30-containerd.sh; $LAB/argo/crds is copied from
# the module by build.sh; the executor RBAC yamls are the module's quick-start files, kept in manifests/argo/
kubectl apply -k $LAB/argo/crds
kubectl get ns argo >/dev/null 2>&1 || kubectl create ns argo
kubectl -n argo get cm workflow-controller-configmap >/dev/null 2>&1 || kubectl -n argo create configmap workflow-controller-configmap
kubectl -n default apply -f $CLUSTER/manifests/argo/executor-role.yaml -f $CLUSTER/manifests/argo/executor-default-rolebinding.yaml
# one controller, no leader election (as --leader-elect=false for the kube components)
start workflow-controller env LEADER_ELECTION_DISABLE=true workflow-controller --kubeconfig=$LAB/admin.kubeconfig --namespace=argo \
  --executor-image=localhost/argoexec:$V --executor-image-pull-policy=Never --loglevel=info
