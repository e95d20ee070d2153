#!/bin/bash
# Builds everything the lab runs, into $LAB: apt packages, Kubernetes, Argo, the CSI pieces, the images.
# Needs Debian 12, Go >= 1.25 and the Go module proxy. A piece already built is skipped, so a second run
# only checks. Heavy steps run with nice -n 19 (the machine is shared).
set -euo pipefail; . "$(dirname "$0")/lib.sh"
mkdir -p $LAB/bin $LAB/images; cd $LAB
export GOFLAGS=-mod=mod CGO_ENABLED=0   # Go caches: lib.sh keeps them in $LAB/go unless GOPATH/GOMODCACHE/GOCACHE are set
K8S=v1.34.4; KV=0.34.4; ARGO=v3.7.17
T0=$(date +%s); t() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
# gomod MODULE@VERSION: path of that module's own go.mod, downloaded into the module cache by the go tool.
# Runs from / so that no go.mod near the build directories is read.
gomod() { (cd / && go mod download -json "$1") | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])'; }

t "apt"
APT="etcd-server containerd runc containernetworking-plugins mmdebstrap umoci iptables conntrack socat openssl kmod"
if ! dpkg -s $APT >/dev/null 2>&1; then
  apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $APT >/dev/null
fi

built() { for c in "$@"; do [ -x $LAB/bin/$c ] || return 1; done; }
if ! built kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy; then
t "kubernetes $K8S (go.mod with replace for every staging module)"
mkdir -p $LAB/k8sbuild; cd $LAB/k8sbuild
cp "$(gomod k8s.io/kubernetes@$K8S)" k8s.mod
# kubernetes' go.mod points its staging modules at ./staging (ignored in a dependency): pin each to v$KV
{ echo "module lab/k8sbuild"; echo; echo "go 1.24.0"; echo; echo "require k8s.io/kubernetes $K8S"; echo; echo "replace (";
  grep -oE "^\s+k8s.io/[a-z0-9-]+ => ./staging" k8s.mod | awk -v v=$KV '{print "\t"$1" => "$1" v"v}' | grep -v sample-c; echo ")"; } > go.mod
go get k8s.io/kubernetes@$K8S
LD="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/client-go/pkg/version.gitVersion=$K8S -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
for c in kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy; do
  [ -x $LAB/bin/$c ] || { t "  build $c"; nice -n 19 go build -trimpath -ldflags "$LD" -o $LAB/bin/$c k8s.io/kubernetes/cmd/$c; }
done
fi

if ! built workflow-controller argoexec || [ ! -d $LAB/argo/crds ]; then
t "argo $ARGO (module zip from the proxy lacks workflow/executor/osspecific/signal_linux.go -> local copy + patch)"
mkdir -p $LAB/argobuild; cd $LAB/argobuild
# the tablewriter replace repeats the one in argo's own go.mod (a dependency's replace lines are ignored)
printf 'module lab/argobuild\n\ngo 1.25.7\n\nrequire github.com/argoproj/argo-workflows/v3 %s\n\nreplace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0.0.5\n' $ARGO > go.mod
go mod download github.com/argoproj/argo-workflows/v3@$ARGO
A=$(go env GOMODCACHE)/github.com/argoproj/argo-workflows/v3@$ARGO
# signal_linux.go = signal_darwin.go: the same Unix calls (Setpgid, Kill of the process group)
if [ ! -d argo-src ]; then cp -r $A argo-src; chmod -R u+w argo-src
  [ -f argo-src/workflow/executor/osspecific/signal_linux.go ] || cp argo-src/workflow/executor/osspecific/signal_darwin.go argo-src/workflow/executor/osspecific/signal_linux.go; fi
echo 'replace github.com/argoproj/argo-workflows/v3 => ./argo-src' >> go.mod
go get github.com/argoproj/argo-workflows/v3@$ARGO
# CRDs from the module; the executor RBAC (manifests/quick-start/base/...) is kept in $CLUSTER/manifests/argo/
mkdir -p $LAB/argo; [ -d $LAB/argo/crds ] || { cp -r $A/manifests/base/crds/minimal $LAB/argo/crds; chmod -R u+w $LAB/argo/crds; }
ALD="-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO"
for c in workflow-controller argoexec; do
  [ -x $LAB/bin/$c ] || { t "  build $c"; nice -n 19 go build -trimpath -ldflags "$ALD" -o $LAB/bin/$c github.com/argoproj/argo-workflows/v3/cmd/$c; }
done
fi

t "CSI: labcsi (source in $CLUSTER/src/labcsi), external-snapshotter v8.4.0, external-provisioner v5.3.0"
# labcsi is built from a copy in $LAB, so that go mod tidy never writes into the recipe
mkdir -p $LAB/csi/labcsi; cp $CLUSTER/src/labcsi/main.go $CLUSTER/src/labcsi/go.mod $CLUSTER/src/labcsi/go.sum $LAB/csi/labcsi/
(cd $LAB/csi/labcsi && go mod tidy && nice -n 19 go build -ldflags "-s -w" -o $LAB/bin/labcsi .)
mkdir -p $LAB/csi/snap $LAB/csi/prov
if ! built snapshot-controller csi-snapshotter csi-provisioner || [ ! -d $LAB/csi/crds ]; then
cd $LAB/csi/snap
# the module's go.mod: its replace lines pin k8s.io/*; its client/v8 => ./client is pinned to v8.4.0 here
M=$(gomod github.com/kubernetes-csi/external-snapshotter/v8@v8.4.0)
{ printf 'module lab/snap\n\ngo 1.24.0\n\nrequire github.com/kubernetes-csi/external-snapshotter/v8 v8.4.0\n\n';
  echo "replace github.com/kubernetes-csi/external-snapshotter/client/v8 => github.com/kubernetes-csi/external-snapshotter/client/v8 v8.4.0";
  grep "^replace k8s.io" $M | grep -v sample; } > go.mod
go get github.com/kubernetes-csi/external-snapshotter/v8@v8.4.0
for c in snapshot-controller csi-snapshotter; do [ -x $LAB/bin/$c ] || nice -n 19 go build -trimpath -ldflags "-s -w" -o $LAB/bin/$c github.com/kubernetes-csi/external-snapshotter/v8/cmd/$c; done
go mod download github.com/kubernetes-csi/external-snapshotter/client/v8@v8.4.0   # CRD yamls live in this module
mkdir -p $LAB/csi/crds; cp $GOMODCACHE/github.com/kubernetes-csi/external-snapshotter/client/v8@v8.4.0/config/crd/snapshot.storage.k8s.io_*.yaml $LAB/csi/crds/; chmod u+w $LAB/csi/crds/*
cd $LAB/csi/prov
M=$(gomod github.com/kubernetes-csi/external-provisioner/v5@v5.3.0)
{ printf 'module lab/prov\n\ngo 1.24.0\n\nrequire github.com/kubernetes-csi/external-provisioner/v5 v5.3.0\n\n';
  grep "^replace k8s.io" $M | grep -v sample; } > go.mod
go get github.com/kubernetes-csi/external-provisioner/v5@v5.3.0
[ -x $LAB/bin/csi-provisioner ] || nice -n 19 go build -trimpath -ldflags "-s -w" -o $LAB/bin/csi-provisioner github.com/kubernetes-csi/external-provisioner/v5/cmd/csi-provisioner
fi

t "images: pause (static Go), argoexec (the notebook image: image/build-notebook.sh)"
mkdir -p $LAB/images/pause $LAB/images/pauseroot; cd $LAB/images/pause
cp $CLUSTER/src/pause/main.go .
[ -f go.mod ] || printf 'module lab/pause\n\ngo 1.24\n' > go.mod
go build -ldflags "-s -w" -o $LAB/images/pauseroot/pause .
[ -f $LAB/images/pause.img.tar ] || $CLUSTER/scripts/mkimage.sh pause 3.10 $LAB/images/pause.img.tar $LAB/images/pauseroot /pause
if [ ! -f $LAB/images/argoexec.img.tar ]; then
  r=$LAB/images/argoexecroot; rm -rf $r; mkdir -p $r/bin $r/tmp $r/etc; chmod 1777 $r/tmp; cp $LAB/bin/argoexec $r/bin/
  echo 'root:x:0:0:root:/root:/bin/sh' > $r/etc/passwd; echo 'argo:x:8737:8737::/home/argo:/bin/sh' >> $r/etc/passwd
  $CLUSTER/scripts/mkimage.sh argoexec $ARGO $LAB/images/argoexec.img.tar $r /bin/argoexec
fi
t "moto S3 server (PyPI) for the Argo artifact repository"
[ -x $LAB/venv/bin/moto_server ] || { python3 -m venv $LAB/venv; $LAB/venv/bin/pip install -q 'moto[server]'; }
t "done"; du -sh $LAB/bin
