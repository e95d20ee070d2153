#!/bin/bash
# CSI: snapshot CRDs (client/v8 v8.4.0) + snapshot-controller + labcsi driver + csi-provisioner + csi-snapshotter (all host processes)
set -eu; . "$(dirname "$0")/lib.sh"
C=$LAB/csi/crds   # copied from github.com/kubernetes-csi/external-snapshotter/client/v8@v8.4.0/config/crd by 01-install-build.sh
for f in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do kubectl apply -f $C/snapshot.storage.k8s.io_$f.yaml; done
kubectl wait --for condition=established crd/volumesnapshots.snapshot.storage.k8s.io --timeout=30s
SOCK=$LAB/run/csi/csi.sock
# labcsi also serves the kubelet plugin-registration socket, in place of node-driver-registrar
start labcsi labcsi --endpoint=$SOCK --registration-dir=$LAB/data/kubelet/plugins_registry --datadir=$LAB/data/csi-hostpath
waitfor 20 test -S $SOCK
start snapshot-controller snapshot-controller --kubeconfig=$LAB/admin.kubeconfig --leader-election=false
start csi-provisioner csi-provisioner --csi-address=$SOCK --kubeconfig=$LAB/admin.kubeconfig --leader-election=false --extra-create-metadata
start csi-snapshotter csi-snapshotter --csi-address=$SOCK --kubeconfig=$LAB/admin.kubeconfig --leader-election=false
kubectl apply -f $CLUSTER/manifests/csi/driver.yaml
waitfor 30 bash -c "kubectl get csinode $(hostname) -o jsonpath='{.spec.drivers[*].name}' | grep -q hostpath.csi.lab"
kubectl get csinode $(hostname) -o jsonpath='{.spec.drivers[*].name}'; echo
