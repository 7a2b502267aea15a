#!/usr/bin/env bash
# Installs what Veil needs to build and test on Debian 12, and nothing else:
# the Debian packages below, and the npm packages of tests/interop.
#
# Idempotent and quiet: when every package is already present it prints
# nothing and touches nothing, so the README's commands can call it first
# every time. Needs root (or sudo) only when something is missing.
#
# wrk and nginx-light serve the gateway benchmark (bench/bench_gateway.sh),
# which runs its own nginx as the current user with a generated
# configuration on a loopback port. The packaged nginx service is of no use
# to it, so it is kept from starting at install and disabled at boot.
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
	libsqlite3-dev
	libevent-dev
	libcurl4-openssl-dev
	curl
	ca-certificates
	jq
	python3
	python3-numpy
	wrk
	nginx-light
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	# No package here needs its service running (nginx-light would start
	# one on port 80, and fail the install if that port is taken): a
	# policy-rc.d that refuses every start (Debian's invoke-rc.d policy
	# interface), only for this install and only if the host has none.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		trap '$sudo rm -f "$policy"' EXIT
	fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
		if command -v systemctl >/dev/null; then
			$sudo systemctl disable --quiet nginx 2>/dev/null || true
		fi
		if command -v update-rc.d >/dev/null; then
			$sudo update-rc.d nginx disable >/dev/null 2>&1 || true
		fi
	fi
fi

# The OHTTP interop tests (tests/cli/ohttp_interop.sh) run independent
# implementations from npm, pinned in tests/interop/package-lock.json. npm ci
# installs exactly those and writes node_modules/.package-lock.json, so the
# install is due only when that is missing or older than the lock file.
interop="$(dirname "$0")/../tests/interop"
if [ ! -f "$interop/node_modules/.package-lock.json" ] ||
	[ "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]; then
	if command -v node >/dev/null && command -v npm >/dev/null; then
		echo "setup: installing the npm packages of tests/interop" >&2
		(cd "$interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	else
		# Not fatal here (building and the demo need no node), but the
		# interop tests fail without it.
		echo "setup: Node.js 20 or later and npm are needed by the OHTTP interop tests;" \
			"install them, then run this again" >&2
	fi
fi
