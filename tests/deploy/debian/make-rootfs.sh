#!/usr/bin/env bash
# A fresh Debian 12 root filesystem for the install test, made once and cached:
#   tests/deploy/debian/make-rootfs.sh DIR
# debootstrap fetches Debian's packages from Debian's own archive (the only network this uses),
# then the packages install.sh wants are installed inside it here, before the test enters its
# own network namespace, so the installer finds them and needs no network at all.
set -euo pipefail
dir="${1:?usage: make-rootfs.sh DIR}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What deploy/install.sh installs (its PACKAGES), and curl for the test's own checks.
packages="python3,python3-venv,postgresql,postgresql-client,cron,rsync,openssl,logrotate"
packages+=",ca-certificates,procps,iproute2,nginx,git,curl"

if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir.tmp"
  debootstrap --variant=minbase --include="$packages" bookworm "$dir.tmp" "$mirror" >&2
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  touch "$dir/.complete"
fi
# PostgreSQL's package picks the next free port when this machine's own server holds 5432 while
# the cluster is created; a fresh server has its cluster on 5432, so the copy gets that port.
sed -i 's/^port = [0-9]*/port = 5432/' "$dir"/etc/postgresql/*/main/postgresql.conf
