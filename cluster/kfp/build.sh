#!/bin/bash
# Builds the KFP 2.17.0 backend for the lab from $KFP_SRC into $LAB/kfp/bin: api-server, persistence agent,
# ScheduledWorkflow controller (it fires recurring runs), v2 driver and launcher; MariaDB from Debian. A
# binary already built is skipped. Go >= 1.26 (KFP's go.mod); its modules come from the Go module proxy.
set -euo pipefail; . "$(dirname "$0")/lib.sh"; need_src
dpkg -s mariadb-server >/dev/null 2>&1 || {
  apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server >/dev/null; }
# KFP_SRC may be a tree someone cares about: build from a copy, where go may rewrite go.mod/go.sum (-mod=mod)
src=$K/src; [ -f $src/VERSION ] || { rm -rf $src; mkdir -p $src; cp -a "$KFP_SRC"/{go.mod,go.sum,VERSION,backend,api,kubernetes_platform} $src/; }
cd $src; export GOFLAGS=-mod=mod GOTOOLCHAIN=local
declare -A PKG=([apiserver]=backend/src/apiserver [persistence-agent]=backend/src/agent/persistence
  [scheduledworkflow]=backend/src/crd/controller/scheduledworkflow [driver]=backend/src/v2/cmd/driver
  [launcher-v2]=backend/src/v2/cmd/launcher-v2)
for n in apiserver persistence-agent scheduledworkflow driver launcher-v2; do
  [ -x $K/bin/$n ] && continue; s=$(date +%s)
  case $n in
    # a host process; storage/db.go needs cgo (mattn/go-sqlite3)
    apiserver) CGO_ENABLED=1 nice -n 19 go build -o $K/bin/$n ./${PKG[$n]} ;;
    # the others go into images without a libc: static, as upstream's Dockerfiles build them
    *) CGO_ENABLED=0 nice -n 19 go build -tags netgo -ldflags '-s -w -extldflags "-static"' -o $K/bin/$n ./${PKG[$n]} ;;
  esac
  echo "built $n in $(( $(date +%s) - s ))s"
done
