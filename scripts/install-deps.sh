#!/bin/sh
# Installs the Debian packages negsim builds, tests and runs with, when any is
# missing. Called by the top-level Makefile before every configure; a no-op
# when everything is there, so it costs one dpkg query on a ready machine.
set -eu
PKGS="build-essential cmake pkg-config libhdf5-dev hdf5-tools libgsl-dev \
libfyaml-dev libjansson-dev libxxhash-dev zlib1g-dev \
libcurl4-openssl-dev libsqlite3-dev libssl-dev libmicrohttpd-dev curl gnuplot-nox python3 python3-h5py \
python3-numpy"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "negsim: missing Debian packages:$missing" >&2
    echo "negsim: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi
echo "negsim: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
