#!/bin/sh
# Install what berth needs on a fresh Debian machine of this kind (as root), build it, and — unless
# --no-demo — run a demo container. Safe to run again: it only installs what is missing.
set -eu
cd "$(dirname "$0")"

missing=""
dpkg -s busybox-static >/dev/null 2>&1 || missing="$missing busybox-static"   # the test rootfs
dpkg -s podman >/dev/null 2>&1 || missing="$missing podman"                   # a real client, in the tests
dpkg -s containerd >/dev/null 2>&1 || missing="$missing containerd"           # another (ctr, the runc shim), in the tests
dpkg -s libc6-dev >/dev/null 2>&1 || missing="$missing libc6-dev"             # static libc for berth-init
dpkg -s libseccomp-dev >/dev/null 2>&1 || missing="$missing libseccomp-dev"   # tests compare berth's seccomp filters with libseccomp's
dpkg -s iptables >/dev/null 2>&1 || missing="$missing iptables"             # CRIU's network lock (checkpoint, restore)
dpkg -s iproute2 >/dev/null 2>&1 || missing="$missing iproute2"             # ip, in the tests (a CRI node's loopback)
dpkg -s procps >/dev/null 2>&1 || missing="$missing procps"                 # ps, which `berth ps` runs
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# checkpoint/restore: Debian 12's CRIU (3.17) cannot work on Linux 6.13 and later. Unless a CRIU on
# PATH passes criu check, build Debian's newest (its source from the Debian archive, checked against
# its hash) outside the project, in $CRIU_DIR: about a minute, once. The tests use it; berth uses it
# when --criu names it.
CRIU_VERSION=4.2.1
CRIU_DEBIAN_VERSION=4.2.1-1
CRIU_SUITE=sid
CRIU_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
CRIU_DIR=/usr/local/lib/berth/criu-$CRIU_VERSION
if ! criu check >/dev/null 2>&1 && ! "$CRIU_DIR/criu" check >/dev/null 2>&1; then
  echo "setup: building CRIU $CRIU_VERSION (none here passes criu check)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make pkg-config libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
    protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev libnftables-dev libaio-dev uuid-dev >/dev/null
  src=$(mktemp -d /tmp/berth-criu-XXXXXX)
  chmod 755 "$src" # apt downloads as its own user
  # The source through apt, from the Debian mirror this machine's apt already uses: a deb-src entry
  # for the suite that has it, in a list of its own (the machine's apt set-up is not changed).
  mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -1 | tr -d ' ')
  [ -n "$mirror" ] || { echo "setup: no Debian mirror in the apt sources to take CRIU's source from"; exit 1; }
  mkdir -p "$src/apt/lists/partial" "$src/apt/parts"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $CRIU_SUITE main" >"$src/apt/sources.list"
  apt_src="-o Dir::Etc::SourceList=$src/apt/sources.list -o Dir::Etc::SourceParts=$src/apt/parts -o Dir::State::Lists=$src/apt/lists"
  apt-get $apt_src update -qq
  # Only the upstream tarball is needed (the packaging part may be missing from a mirror or proxy):
  # what decides is that it arrived and has the hash below.
  (cd "$src" && apt-get $apt_src source --download-only -qq "criu=$CRIU_DEBIAN_VERSION" >/dev/null 2>&1) || true
  echo "$CRIU_SHA256  $src/criu_$CRIU_VERSION.orig.tar.xz" | sha256sum -c --quiet
  tar -xf "$src/criu_$CRIU_VERSION.orig.tar.xz" -C "$src"
  make -s -C "$src/criu-$CRIU_VERSION" -j"$(nproc)" criu >"$src/build.log" 2>&1 || { tail -20 "$src/build.log"; exit 1; }
  mkdir -p "$CRIU_DIR"
  cp "$src/criu-$CRIU_VERSION/criu/criu" "$CRIU_DIR/criu"
  rm -rf "$src"
  "$CRIU_DIR/criu" check >/dev/null
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
