#!/bin/bash
# build-notebook.sh WHEEL: the notebook image localhost/cellpipe-notebook:TAG -> $LAB/images/cellpipe-notebook.img.tar
# Two layers, so that a new cellpipe wheel rebuilds only the second:
#  - base (cached in $LAB/images/notebook-base, keyed by requirements.txt and this script): a Debian
#    bookworm root filesystem (mmdebstrap) with python3, a venv /opt/cellpipe holding JupyterLab,
#    jupyter-server-proxy and the libraries the examples import (pip from PyPI at image-build time), and the
#    user jovyan (1000:100, home /home/jovyan) as in Kubeflow's notebook images;
#  - cellpipe installed from WHEEL into that venv (pip --no-deps).
# TAG is a hash of both, so an unchanged wheel is not rebuilt (hatchling's wheels are reproducible).
set -euo pipefail; . "$(dirname "$0")/../scripts/lib.sh"
wheel=$(readlink -f "$1"); req=$CLUSTER/image/requirements.txt; I=$LAB/images; mkdir -p $I
base_tag=$(cat "$req" "$0" | sha256sum | cut -c1-12)
tag=$(cat "$wheel" | sha256sum | cut -c1-6)$base_tag
tag=${tag:0:12}
out=$I/cellpipe-notebook.img.tar
if [ -f $out ] && [ "$(cat $I/cellpipe-notebook.tag 2>/dev/null)" = "$tag" ]; then
  echo "notebook image $tag is up to date"; exit 0; fi
T0=$(date +%s)
if [ "$(cat $I/notebook-base/tag 2>/dev/null)" != "$base_tag" ]; then
  root=$I/notebook-baseroot; rm -rf $root $I/notebook-base
  cp "$req" $I/requirements.txt
  # pip in the new root trusts what the host's pip trusts (the host's CA bundle, which may hold a proxy's
  # CA); the bundle is only used for the install and is not left in the image. The host's own variables
  # (PIP_CERT, REQUESTS_CA_BUNDLE: paths that mean the new root's bundle in there) are replaced for it.
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" $I/host-ca.crt
  # The customize hooks run inside the new root (chroot); pip reaches PyPI from there as from the host.
  nice -n 19 mmdebstrap --variant=essential --include=python3,python3-venv,libstdc++6,ca-certificates,passwd,tini,procps,less \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="copy-in $I/requirements.txt $I/host-ca.crt /tmp" \
    --customize-hook='chroot "$1" python3 -m venv /opt/cellpipe' \
    --customize-hook='chroot "$1" env -u PIP_FIND_LINKS PIP_CERT=/tmp/host-ca.crt REQUESTS_CA_BUNDLE=/tmp/host-ca.crt SSL_CERT_FILE=/tmp/host-ca.crt /opt/cellpipe/bin/pip install --no-cache-dir -q -r /tmp/requirements.txt' \
    --customize-hook='chroot "$1" sh -c "useradd -m -u 1000 -g 100 -s /bin/bash jovyan && rm -f /tmp/requirements.txt /tmp/host-ca.crt"' \
    bookworm $root
  rm -f $I/requirements.txt $I/host-ca.crt
  umoci init --layout $I/notebook-base
  umoci new --image $I/notebook-base:base
  w=$(mktemp -d $I/work.XXXX)
  umoci unpack --image $I/notebook-base:base $w/b >/dev/null
  cp -a $root/. $w/b/rootfs/
  nice -n 19 umoci repack --image $I/notebook-base:base $w/b
  rm -rf $w $root
  echo $base_tag > $I/notebook-base/tag
  echo "base image $base_tag built in $(( $(date +%s) - T0 ))s"
fi
w=$(mktemp -d $I/work.XXXX)
cp -a $I/notebook-base $w/oci
umoci unpack --image $w/oci:base $w/b >/dev/null
cp "$wheel" $w/b/rootfs/tmp/
chroot $w/b/rootfs /opt/cellpipe/bin/pip install --no-cache-dir -q --no-deps --force-reinstall /tmp/$(basename "$wheel")
rm -f $w/b/rootfs/tmp/*.whl
umoci repack --image $w/oci:base $w/b
umoci tag --image $w/oci:base $tag; umoci rm --image $w/oci:base
umoci config --image $w/oci:$tag --config.entrypoint '["/usr/bin/tini","--"]' --config.user 1000:100 \
  --config.workingdir /home/jovyan --config.env PATH=/opt/cellpipe/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umoci gc --layout $w/oci
tar -C $w/oci -cf $out.tmp . && mv $out.tmp $out
rm -rf $w
echo $tag > $I/cellpipe-notebook.tag
echo "image cellpipe-notebook:$tag -> $out ($(du -h $out | cut -f1)) in $(( $(date +%s) - T0 ))s"
