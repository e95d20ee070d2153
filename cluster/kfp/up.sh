#!/bin/bash
# Starts Kubeflow Pipelines 2.17.0 on the running lab (make cluster, then cluster/kfp/build.sh), single-user
# in namespace kubeflow, and a second notebook server there (KFP's pods run in kubeflow, so only a PVC of
# that namespace can be their workspace snapshot's source). Host processes: MariaDB (127.0.0.1:3306), the
# MLMD service (:8080) and the api-server (REST :8888 on the bridge address 10.88.0.1 only, which pods reach,
# so that JupyterLab's 8888 on localhost stays free for `make test`; gRPC :8887 on every address: its REST
# proxy dials "localhost" + the flag, so the flag must stay a bare port); pods: the persistence agent and the ScheduledWorkflow controller. A piece already running is
# left as it is. KFP_SRC (the same tree as for build.sh) gives the CRDs and RBAC manifests.
set -eu; . "$(dirname "$0")/lib.sh"; need_src; T0=$(date +%s)
t() { echo "=== $* [$(( $(date +%s) - T0 ))s]"; }
M=$KFP_SRC/manifests/kustomize/base

t "MariaDB (KFP's database; root without a password on 127.0.0.1)"
D=$K/data/mysql; mkdir -p $K/run; chown mysql:mysql $K/run
# mariadbd runs as mysql: every directory above its data must be searchable by it
[ -d $D/mysql ] || { mkdir -p $D; chown -R mysql:mysql $D
  mariadb-install-db --user=mysql --datadir=$D --auth-root-authentication-method=normal >/dev/null; }
kstart mariadb mariadbd --user=mysql --datadir=$D --bind-address=127.0.0.1 --port=3306 --socket=$K/run/mysqld.sock \
  --pid-file=$K/run/mariadbd.pid --skip-name-resolve
waitfor 60 mariadb -uroot -h127.0.0.1 -e 'select 1'
mariadb -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS mlpipeline; CREATE DATABASE IF NOT EXISTS metadb;"

t "MLMD (ml-metadata wheel behind grpcio, database metadb)"
[ -x $K/venv/bin/python ] || { python3 -m venv $K/venv; $K/venv/bin/pip install -q ml-metadata==1.17.1 grpcio; }
kstart mlmd $K/venv/bin/python $KFP/mlmd_server.py --host 0.0.0.0 --port 8080 --mysql-host 127.0.0.1 --mysql-db metadb
waitfor 60 grep -q "MLMD serving" $K/logs/mlmd.log

t "namespace kubeflow: CRDs, accounts, the launcher's object store"
kubectl get ns kubeflow >/dev/null 2>&1 || kubectl create ns kubeflow
kubectl apply -f $M/crds/pipelines.kubeflow.org_pipelines.yaml -f $M/crds/pipelines.kubeflow.org_pipelineversions.yaml \
  -f $M/pipeline/cluster-scoped/scheduled-workflow-crd.yaml >/dev/null
kubectl -n kubeflow apply -f $M/pipeline/pipeline-runner-sa.yaml -f $M/pipeline/pipeline-runner-role.yaml \
  -f $M/pipeline/pipeline-runner-rolebinding.yaml -f $CLUSTER/manifests/argo/executor-role.yaml >/dev/null
kubectl -n kubeflow create rolebinding pipeline-runner-executor --role=executor --serviceaccount=kubeflow:pipeline-runner \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# moto takes a host name (the launcher's default seaweedfs.kubeflow:9000) for a virtual-hosted bucket:
# the launcher reaches the store by the bridge's address, path style
kubectl -n kubeflow create configmap kfp-launcher --from-literal=defaultPipelineRoot=minio://mlpipeline/v2/artifacts \
  --from-literal=providers='minio:
  default:
    endpoint: 10.88.0.1:9000
    disableSSL: true
    region: minio
    forcePathStyle: true
    credentials:
      fromEnv: false
      secretRef: {secretName: mlpipeline-minio-artifact, accessKeyKey: accesskey, secretKeyKey: secretkey}
' --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n kubeflow create secret generic mlpipeline-minio-artifact --from-literal=accesskey=lab --from-literal=secretkey=labsecret \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
curl -sf -X PUT http://10.88.0.1:9000/mlpipeline >/dev/null || true

t "images: driver, launcher, persistence agent, ScheduledWorkflow controller (uid 65532, as upstream's)"
image() { local name=$1 bin=$2 as=$3; local tar=$K/images/$name.img.tar
  if [ ! -f $tar ] || [ $K/bin/$bin -nt $tar ]; then
    local r=$K/images/${name}root; rm -rf $r; mkdir -p $r/bin $r/tmp $r/etc/ssl/certs; chmod 1777 $r/tmp
    cp $K/bin/$bin $r/bin/$as; cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/
    echo 'root:x:0:0:root:/root:/bin/sh' > $r/etc/passwd
    IMG_USER=65532 $CLUSTER/scripts/mkimage.sh $name $KFP_VERSION $tar $r /bin/$as; rm -rf $r
    $CTR images rm localhost/$name:$KFP_VERSION >/dev/null 2>&1 || true
  fi
  $CTR images ls -q | grep -qx localhost/$name:$KFP_VERSION || $CTR images import --base-name localhost/$name $tar >/dev/null; }
image kfp-driver driver driver; image kfp-launcher launcher-v2 launcher-v2
image kfp-persistenceagent persistence-agent persistence_agent; image kfp-scheduledworkflow scheduledworkflow controller

t "api-server (host process)"
mkdir -p $K/config $K/home/.kube; cp $KFP_SRC/backend/src/apiserver/config/config.json $K/config/
# its ScheduledWorkflow client reads $HOME/.kube/config, not $KUBECONFIG
cp $LAB/admin.kubeconfig $K/home/.kube/config
# no cluster DNS: the names KFP's compiler bakes into every workflow resolve to the bridge, where MLMD and the
# api-server listen; the lab's argoexec image has no USER and KFP's driver pods must not run as root, so Argo's
# init and wait containers get upstream argoexec's uid
hosts='"metadata-grpc-service.kubeflow.svc.cluster.local","ml-pipeline.kubeflow.svc.cluster.local","ml-pipeline.kubeflow","ml-pipeline","seaweedfs.kubeflow","minio-service.kubeflow"'
psp='{\"initContainers\":[{\"name\":\"init\",\"securityContext\":{\"runAsUser\":8737}}],\"containers\":[{\"name\":\"wait\",\"securityContext\":{\"runAsUser\":8737}}]}'
HOME=$K/home POD_NAMESPACE=kubeflow CLUSTER_DOMAIN=cluster.local LOG_LEVEL=info \
DB_DRIVER_NAME=mysql DBCONFIG_MYSQLCONFIG_HOST=127.0.0.1 DBCONFIG_MYSQLCONFIG_PORT=3306 DBCONFIG_MYSQLCONFIG_USER=root \
DBCONFIG_MYSQLCONFIG_DBNAME=mlpipeline OBJECTSTORECONFIG_HOST=10.88.0.1 OBJECTSTORECONFIG_PORT=9000 \
OBJECTSTORECONFIG_SECURE=false OBJECTSTORECONFIG_BUCKETNAME=mlpipeline OBJECTSTORECONFIG_ACCESSKEY=lab \
OBJECTSTORECONFIG_SECRETACCESSKEY=labsecret \
ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST=127.0.0.1 ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_PORT=8889 \
V2_DRIVER_IMAGE=localhost/kfp-driver:$KFP_VERSION V2_LAUNCHER_IMAGE=localhost/kfp-launcher:$KFP_VERSION \
COMPILED_PIPELINE_SPEC_PATCH='{"hostAliases":[{"ip":"10.88.0.1","hostnames":['$hosts']}],"podSpecPatch":"'$psp'"}' \
  kstart apiserver $K/bin/apiserver --config=$K/config -logtostderr=true \
    --httpPortFlag=10.88.0.1:8888 --rpcPortFlag=:8887
waitfor 120 curl -sf $KFP_API/apis/v2beta1/healthz

t "persistence agent and ScheduledWorkflow controller (pods: each reads a projected token at a fixed path)"
# the visualization server is not deployed (the api-server only needs its address)
for a in persistenceagent scheduledworkflow; do
  kubectl -n kubeflow create sa ml-pipeline-$a --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # lab shortcut: cluster-admin instead of upstream's roles
  kubectl create clusterrolebinding kfp-$a-lab --clusterrole=cluster-admin --serviceaccount=kubeflow:ml-pipeline-$a \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
pod() { local a=$1 token=$2; shift 2; local args=$(printf ', %s' "$@")
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ml-pipeline-$a, namespace: kubeflow, labels: {app: ml-pipeline-$a}}
spec:
  serviceAccountName: ml-pipeline-$a
  hostAliases: [{ip: 10.88.0.1, hostnames: [ml-pipeline, ml-pipeline.kubeflow]}]
  containers:
  - name: main
    image: localhost/kfp-$a:$KFP_VERSION
    imagePullPolicy: Never
    args: [--logtostderr=true${args}]
    volumeMounts: [{mountPath: /var/run/secrets/kubeflow/tokens, name: token}]
  volumes:
  - name: token
    projected: {sources: [{serviceAccountToken: {path: $token, expirationSeconds: 3600, audience: pipelines.kubeflow.org}}]}
YAML
}
pod persistenceagent persistenceagent-sa-token --ttlSecondsAfterWorkflowFinish=86400 --numWorker=2 --mlPipelineAPIServerName=ml-pipeline
# single-user: it watches kubeflow only; CRON_SCHEDULE_TIMEZONE unset, so cron times are UTC (the pod's zone)
pod scheduledworkflow scheduledworkflow-sa-token --namespace=kubeflow --mlPipelineAPIServerName=ml-pipeline
kubectl -n kubeflow wait --for=condition=Ready pod/ml-pipeline-persistenceagent pod/ml-pipeline-scheduledworkflow --timeout=120s

t "notebook server in kubeflow"
NB_NS=kubeflow $CLUSTER/scripts/80-notebook.sh
t "KFP up: $KFP_API/apis/v2beta1 (from the host and from pods)"
