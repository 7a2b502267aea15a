#!/usr/bin/env bash
# Installs what Veil needs to build and test on Debian 12, and nothing else.
#
# Idempotent and quiet: when every package is already present it prints
# nothing and touches nothing, so the README's commands can call it first
# every time. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
	build-essential
	clang
	libclang-rt-dev
	clang-format
	pkg-config
	libssl-dev
	libjansson-dev
	libxml2-dev
	libxmlsec1-dev
	libxmlsec1-openssl
	ca-certificates
	jq
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
