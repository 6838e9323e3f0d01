#!/bin/sh
# Install what berth needs on a fresh Debian machine of this kind (as root), build it, and — unless
# --no-demo — run a demo container. Safe to run again: it only installs what is missing.
set -eu
cd "$(dirname "$0")"

missing=""
dpkg -s busybox-static >/dev/null 2>&1 || missing="$missing busybox-static"   # the test rootfs
dpkg -s podman >/dev/null 2>&1 || missing="$missing podman"                   # a real client, in the tests
dpkg -s libc6-dev >/dev/null 2>&1 || missing="$missing libc6-dev"             # static libc for berth-init
dpkg -s libseccomp-dev >/dev/null 2>&1 || missing="$missing libseccomp-dev"   # tests compare berth's seccomp filters with libseccomp's
dpkg -s iptables >/dev/null 2>&1 || missing="$missing iptables"             # CRIU's network lock (checkpoint, restore)
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build

[ "${1:-}" = "--no-demo" ] && exit 0

demo=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'cli/berth --root "$demo/state" delete --force demo >/dev/null 2>&1 || true; rm -rf "$demo"' EXIT
mkdir -p "$demo/bundle/rootfs/bin"
cp /bin/busybox "$demo/bundle/rootfs/bin/"
for a in sh echo hostname ls cat id; do ln -s busybox "$demo/bundle/rootfs/bin/$a"; done
cli/berth spec --bundle "$demo/bundle"
sed -i 's|"sh"|"sh", "-c", "echo hello from $(hostname), pid $$, uid $(id -u); ls /"|' "$demo/bundle/config.json"
echo "berth run demo:"
cli/berth --root "$demo/state" run --bundle "$demo/bundle" demo
