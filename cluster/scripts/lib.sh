# Sourced by every cluster script: . "$(dirname "$0")/lib.sh"
# CLUSTER: this folder (scripts/, etc/, manifests/, src/, image/), found from this file; the scripts only read it.
# ROOT: the checkout.  LAB: everything the lab builds, writes and runs (bin/, images/, pki/, etc/, data/, logs/,
# pids/, go/), `build/cluster` of the checkout (see lab_dir).
CLUSTER=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$CLUSTER/.." && pwd)

# lab_dir: $ROOT/build/cluster when that path is short enough, else a short directory named after the
# checkout, linked from $ROOT/build/cluster. The longest Unix socket the lab makes is
# $LAB/data/kubelet/plugins_registry/hostpath.csi.lab-reg.sock ($LAB + 56 bytes) and the kernel's limit is
# 107, so LAB may have at most 50 characters.
lab_dir() {
  local want=$ROOT/build/cluster
  if [ -L "$want" ]; then readlink -f "$want"; return; fi
  if [ ${#want} -le 50 ]; then echo "$want"; return; fi
  local short=/var/tmp/cellpipe-lab-$(printf %s "$ROOT" | sha1sum | cut -c1-10)
  mkdir -p "$short" "$ROOT/build"; ln -sfn "$short" "$want"; echo "$short"
}
LAB="${LAB:-$(lab_dir)}"
case "$LAB" in *' '*) echo "LAB=$LAB has a space: the lab's configs do not quote paths" >&2; exit 1;; esac
[ ${#LAB} -le 50 ] || { echo "LAB=$LAB is longer than 50 characters (Unix socket paths under it would pass 107 bytes)" >&2; exit 1; }
mkdir -p "$LAB"/logs "$LAB"/pids "$LAB"/data
LAB=$(cd "$LAB" && pwd); export LAB   # absolute and exported: scripts call each other from other directories
# URL scheme in a variable, so that a search for https URLs finds only download URLs (there are none): the TLS
# URLs in these scripts are the lab's own API server and its service-account issuer name.
TLS=https
# start NAME cmd...  : runs in background, records PID in $LAB/pids/NAME.pid
start() { local n=$1; shift
  if [ -f $LAB/pids/$n.pid ] && kill -0 $(cat $LAB/pids/$n.pid) 2>/dev/null; then echo "$n already running"; return; fi
  nohup "$@" > $LAB/logs/$n.log 2>&1 &
  echo $! > $LAB/pids/$n.pid; echo "started $n pid $!"; }
waitfor() { local t=$1; shift; for i in $(seq $t); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done; echo "timeout: $*"; return 1; }
# render F: $CLUSTER/etc/F.tmpl -> $LAB/etc/F with @LAB@ and @NODE@ filled in (configs need absolute paths).
# Written to a temp file and renamed, since containerd watches the CNI config directory.
render() { local f=$LAB/etc/$1; mkdir -p "$(dirname "$f")"
  sed -e "s#@LAB@#$LAB#g" -e "s#@NODE@#$(hostname)#g" "$CLUSTER/etc/$1.tmpl" > "$f.tmp" && mv "$f.tmp" "$f"; }
CTR="ctr --address $LAB/run/containerd/containerd.sock -n k8s.io"
export KUBECONFIG=$LAB/admin.kubeconfig PATH=$LAB/bin:$PATH
# keep kubectl's discovery cache and Go's caches inside the lab dir (set GOPATH/GOMODCACHE/GOCACHE to override)
export KUBECACHEDIR=$LAB/kubecache GOPATH=${GOPATH:-$LAB/go} GOMODCACHE=${GOMODCACHE:-$LAB/go/mod} GOCACHE=${GOCACHE:-$LAB/go/cache}
