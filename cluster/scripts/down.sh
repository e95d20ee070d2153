#!/bin/bash
# Stops everything started by the lab scripts (by recorded PID), then cleans mounts, netns, iptables, bridge:
# the machine is as it was before up.sh (see README.md for the little it does not undo).
# No set -e: every cleanup step runs even when an earlier one finds nothing to do.
. "$(dirname "$0")/lib.sh"
CTR="ctr --address $LAB/run/containerd/containerd.sock -n k8s.io"
stop() { local f=$LAB/pids/$1.pid; [ -f $f ] || return 0; local p=$(cat $f)
  if kill -0 $p 2>/dev/null; then kill $p; for i in $(seq 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done
    kill -0 $p 2>/dev/null && kill -9 $p; echo "stopped $1 ($p)"; fi; rm -f $f; }
# KFP's host processes (cluster/kfp/up.sh keeps their PIDs in $LAB/kfp/pids), when it ran
for f in $LAB/kfp/pids/*.pid; do [ -f $f ] || continue; p=$(cat $f)
  if kill -0 $p 2>/dev/null; then kill $p; for i in $(seq 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done
    kill -0 $p 2>/dev/null && kill -9 $p; echo "stopped kfp $(basename $f .pid) ($p)"; fi; rm -f $f; done
for n in workflow-controller moto-s3 csi-snapshotter csi-provisioner snapshot-controller kube-proxy kube-scheduler kube-controller-manager; do stop $n; done
# stop pods: kill all CRI tasks, then the shims (children of our containerd)
stop kubelet
if [ -S $LAB/run/containerd/containerd.sock ]; then
  for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks kill -s KILL $t 2>/dev/null; done; sleep 2
  for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks delete -f $t >/dev/null 2>&1; done
fi
stop labcsi
for p in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $LAB/run/containerd/containerd.sock"); do kill $p; done
stop containerd
stop kube-apiserver
stop etcd
# mounts (pod volumes, overlay rootfs, shm), network namespaces created by CNI
grep -F " $LAB/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read m; do umount -l "$m" 2>/dev/null; done
for n in $(ls /var/run/netns 2>/dev/null | grep '^cni-'); do ip netns delete $n; done
kube-proxy --cleanup >/dev/null 2>&1 || true
for c in $(iptables -t nat -S 2>/dev/null | awk '/^-N CNI-/{print $2}'); do iptables -t nat -F $c; done
iptables -t nat -S POSTROUTING | grep CNI- | sed 's/^-A/-D/' | while read r; do iptables -t nat $r; done
for c in $(iptables -t nat -S 2>/dev/null | awk '/^-N CNI-/{print $2}'); do iptables -t nat -X $c; done
for t in filter nat mangle; do for c in $(iptables -t $t -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do iptables -t $t -F $c; done; done
for t in filter nat mangle; do iptables -t $t -S | grep -E "KUBE-|CNI-" | grep '^-A' | sed 's/^-A/-D/' | while read r; do iptables -t $t $r 2>/dev/null; done; done
for t in filter nat mangle; do for c in $(iptables -t $t -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/{print $2}'); do iptables -t $t -X $c 2>/dev/null; done; done
ip6tables -t nat -S 2>/dev/null | grep -q KUBE- && { for t in filter nat mangle; do for c in $(ip6tables -t $t -S | awk '/^-N KUBE-/{print $2}'); do ip6tables -t $t -F $c; done; ip6tables -t $t -S | grep KUBE- | grep '^-A' | sed 's/^-A/-D/' | while read r; do ip6tables -t $t $r 2>/dev/null; done; for c in $(ip6tables -t $t -S | awk '/^-N KUBE-/{print $2}'); do ip6tables -t $t -X $c 2>/dev/null; done; done; }
for v in $(ip -o link show master k8sbr0 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link del $v 2>/dev/null; done
ip link del k8sbr0 2>/dev/null
echo 0 > /proc/sys/net/ipv4/ip_forward
# cgroups created by kubelet (kubepods) and by ctr/containerd tasks (k8s.io), plus a debug one (labdbg)
for s in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/*/labdbg; do [ -d $s ] && find $s -depth -type d -exec rmdir {} \; 2>/dev/null; done
# state that containerd 1.6 / CNI keep at fixed paths outside $LAB (none of it existed before the lab)
rm -rf /run/containerd /var/lib/cni
# kubelet hard-codes /var/log/containers (symlinks to podLogsDir) and /var/lib/kubelet/device-plugins
find /var/log/containers -maxdepth 1 -type l -lname "$LAB/*" -delete 2>/dev/null; rmdir /var/log/containers 2>/dev/null
rm -rf /var/lib/kubelet/device-plugins; rmdir /var/lib/kubelet 2>/dev/null
rmdir /run/netns 2>/dev/null
echo "lab stopped"
