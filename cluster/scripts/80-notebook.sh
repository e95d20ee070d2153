#!/bin/bash
# The user's setup: namespace $NB_NS (default team-a) with the notebook's service account and RBAC, the
# lab-s3 secret of Argo's artifact repository, the workspace PVC and the notebook StatefulSet (JupyterLab
# with cellpipe, image localhost/cellpipe-notebook built by image/build-notebook.sh), then the examples
# copied onto the workspace (examples/ in the notebook's home).
set -eu; . "$(dirname "$0")/lib.sh"
NS=${NB_NS:-team-a}
tag=$(cat $LAB/images/cellpipe-notebook.tag)
image=localhost/cellpipe-notebook:$tag
kubectl get ns $NS >/dev/null 2>&1 || kubectl create ns $NS
kubectl -n $NS create secret generic lab-s3 --from-literal=accesskey=lab --from-literal=secretkey=labsecret \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# Argo's namespaced artifact repository, as Kubeflow's profile controller makes one in every user namespace:
# step outputs, metrics and logs go to the lab's S3 store (moto, 65-argo-s3.sh) and cellpipe reads them there.
kubectl -n $NS create configmap artifact-repositories --dry-run=client -o yaml --from-literal=default-v1='archiveLogs: true
s3:
  bucket: argo-artifacts
  endpoint: 10.88.0.1:9000
  insecure: true
  accessKeySecret: {name: lab-s3, key: accesskey}
  secretKeySecret: {name: lab-s3, key: secretkey}
' | kubectl annotate --local -f - -o yaml workflows.argoproj.io/default-artifact-repository=default-v1 | kubectl apply -f - >/dev/null
for f in rbac notebook; do
  sed -e "s#@NS@#$NS#g" -e "s#@IMAGE@#$image#g" $CLUSTER/manifests/notebook/$f.yaml | kubectl apply -f -
done
# A new image (new wheel): replace the pod. The StatefulSet would not replace a pod that is not Ready.
cur=$(kubectl -n $NS get pod nb-0 -o jsonpath='{.spec.containers[0].image}' 2>/dev/null || true)
[ -n "$cur" ] && [ "$cur" != "$image" ] && kubectl -n $NS delete pod nb-0 --wait=true
kubectl -n $NS rollout status statefulset/nb --timeout=300s
kubectl -n $NS wait --for=condition=Ready pod/nb-0 --timeout=300s
# the examples, as a user would have them in their home (tar of the checkout's examples/, without run state)
tar -C $ROOT --exclude=.cellpipe --exclude=.ipynb_checkpoints -c examples | kubectl -n $NS exec -i nb-0 -c nb -- tar -x -C /home/jovyan
kubectl -n $NS exec nb-0 -c nb -- ls /home/jovyan/examples
echo "notebook: kubectl -n $NS port-forward pod/nb-0 PORT:8888, then http://127.0.0.1:PORT/notebook/$NS/nb/lab"
