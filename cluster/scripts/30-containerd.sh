#!/bin/bash
set -eu; . "$(dirname "$0")/lib.sh"
render containerd/config.toml; render cni/net.d/10-lab.conflist   # CRI reads the CNI config from $LAB/etc/cni/net.d
mkdir -p $LAB/run/containerd $LAB/data/imported
start containerd containerd --config $LAB/etc/containerd/config.toml
waitfor 30 $CTR version
# Import each image once (containerd keeps them in $LAB/data/containerd across restarts), again when its
# tar is newer. --digests also names each image NAME@sha256:MANIFEST, so a pod may ask for it by digest
# (cellpipe pins steps to the notebook's image that way) and the kubelet finds it without a registry.
for t in $LAB/images/*.img.tar; do
  n=$(basename $t .img.tar); b=localhost/$n; stamp=$LAB/data/imported/$n
  if [ ! -f $stamp ] || [ $t -nt $stamp ]; then
    $CTR images import --digests --base-name $b $t >/dev/null && touch $stamp && echo "imported $b from $t"
  fi
done
$CTR images ls -q
