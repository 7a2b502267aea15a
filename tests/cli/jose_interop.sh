#!/usr/bin/env bash
# JOSE interoperability: Veil's JWK, JWS, JWT and JWE (through the
# $BUILD/tests/interop/jose_peer program) against an independent
# implementation from npm, pinned in tests/interop/package-lock.json (jose).
# tests/interop/jose_interop.mjs holds the checks; this script installs the
# packages when they are missing or older than the lock file, runs it, and
# counts its "ok" and "FAIL" lines. Node.js 20+ and npm are required: without
# them the test fails rather than skips, since CI has both. Each check is
# printed with its result.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() {
	echo "jose_interop: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

PEER="${BUILD:-build}/tests/interop/jose_peer"
DIR=tests/interop

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	bad "node and npm are needed for the JOSE interop tests (Node.js 20 or later)"
	finish
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] 2>/dev/null && ok || bad "node $(node --version) is too old; the tests need Node.js 20 or later"
[ -x "$PEER" ] && ok || { bad "$PEER is missing: build it with make BUILD=${BUILD:-build} check-tests"; finish; }

# The pinned packages: npm ci installs exactly the lock file, and writes
# node_modules/.package-lock.json, which then is newer than the lock file.
if [ ! -f "$DIR/node_modules/.package-lock.json" ] ||
	[ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
	if (cd "$DIR" && npm ci --no-audit --no-fund) >"$TMP/npm.log" 2>&1; then ok; else
		bad "npm ci in $DIR failed"
		sed 's/^/    /' "$TMP/npm.log" | tail -n 15
		finish
	fi
else
	ok
fi

node "$DIR/jose_interop.mjs" "$PEER" >"$TMP/out" 2>&1
rc=$?
while IFS= read -r line; do
	case "$line" in
	"ok "*) echo "$line"; ok ;;
	"FAIL "*) echo "$line"; fail=$((fail + 1)) ;;
	"# "*) ;;
	*) echo "    $line" ;;
	esac
done <"$TMP/out"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$TMP/out"; then
	bad "jose_interop.mjs exited $rc without reporting a failure"
fi
finish
